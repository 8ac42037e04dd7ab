/* SPDX-License-Identifier: MIT */
/* The CDI spec parser (lib/cdi.c): a spec as nvidia-ctk writes it (YAML)
 * and as AMD's generator writes it (JSON) read into what jsandbox applies,
 * and hostile or malformed specs refused with a message naming the file,
 * the line and the field. No privilege needed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cdi.h"
#include "ci_skip.h"
#include "devices.h"
#include "devrule.h"
#include "gpu.h"
#include "policy.h"

static const char nvidia_yaml[] = "---\n"
				  "cdiVersion: 0.5.0\n"
				  "kind: nvidia.com/gpu\n"
				  "devices:\n"
				  "- name: \"0\"\n"
				  "  containerEdits:\n"
				  "    deviceNodes:\n"
				  "    - path: /dev/nvidia0\n"
				  "- name: \"0:1\"\n"
				  "  containerEdits:\n"
				  "    deviceNodes:\n"
				  "    - path: /dev/nvidia0\n"
				  "    - path: /dev/nvidia-caps/nvidia-cap21\n"
				  "      permissions: r\n"
				  "- name: GPU-bbbbbbbb-0000-0000-0000-000000000002\n"
				  "  containerEdits:\n"
				  "    deviceNodes: [{path: /dev/nvidia0, type: c, major: 195, minor: 0}]\n"
				  "containerEdits:\n"
				  "  env:\n"
				  "  - NVIDIA_VISIBLE_DEVICES=void\n"
				  "  deviceNodes:\n"
				  "  - path: /dev/nvidiactl\n"
				  "  hooks:\n"
				  "  - hookName: createContainer\n"
				  "    path: /usr/bin/nvidia-ctk\n"
				  "    args:\n"
				  "    - nvidia-ctk\n"
				  "    - hook\n"
				  "    - create-symlinks\n"
				  "    - --link\n"
				  "    - libcuda.so.1::/usr/lib/x86_64-linux-gnu/libcuda.so\n"
				  "    - --link=../card1::/dev/dri/by-path/pci-0000:3b:00.0-card\n"
				  "  - hookName: createContainer\n"
				  "    path: /usr/bin/nvidia-cdi-hook\n"
				  "    args: [nvidia-cdi-hook, update-ldcache, --folder, /usr/lib/x86_64-linux-gnu]\n"
				  "  mounts:\n"
				  "  - hostPath: /usr/lib/x86_64-linux-gnu/libcuda.so.535.104.05\n"
				  "    containerPath: /usr/lib/x86_64-linux-gnu/libcuda.so.535.104.05\n"
				  "    options: [ro, nosuid, nodev, bind]\n";

static const char amd_json[] =
    "{\"cdiVersion\":\"0.6.0\",\"kind\":\"amd.com/gpu\",\"devices\":[{\"name\":\"0\",\"containerEdits\":"
    "{\"deviceNodes\":[{\"path\":\"/dev/dri/renderD128\",\"permissions\":\"rw\"},{\"path\":\"/dev/kfd\"}]}}]}";

static void test_nvidia_yaml(void **state)
{
	(void)state;
	struct js_cdi_spec s;
	struct js_err e = {0};
	assert_int_equal(js_cdi_parse(nvidia_yaml, strlen(nvidia_yaml), "/etc/cdi/nvidia.yaml", &s, &e), 0);
	assert_string_equal(s.kind, "nvidia.com/gpu");
	assert_int_equal(s.ndev, 3);
	assert_string_equal(s.dev[1].name, "0:1");
	assert_int_equal(s.dev[1].edits.nnodes, 2);
	assert_string_equal(s.dev[1].edits.node[1].path, "/dev/nvidia-caps/nvidia-cap21");
	assert_int_equal(s.dev[1].edits.node[1].access, JS_DEV_READ);
	assert_int_equal(s.dev[0].edits.node[0].access, JS_DEV_READ | JS_DEV_WRITE);
	assert_int_equal(s.dev[0].edits.node[0].major, -1);
	assert_int_equal(s.dev[2].edits.node[0].major, 195);
	assert_int_equal(s.dev[2].edits.node[0].minor, 0);
	assert_int_equal(s.edits.nnodes, 1);
	assert_int_equal(s.edits.nmounts, 1);
	assert_string_equal(s.edits.mount[0].host, "/usr/lib/x86_64-linux-gnu/libcuda.so.535.104.05");
	assert_int_equal(s.edits.nlinks, 2);
	assert_string_equal(s.edits.link[0].target, "libcuda.so.1");
	assert_string_equal(s.edits.link[0].link, "/usr/lib/x86_64-linux-gnu/libcuda.so");
	assert_string_equal(s.edits.link[1].target, "../card1");
	assert_true(s.edits.ldcache);

	struct js_cdi_set set = {.n = 1, .spec = &s};
	const struct js_cdi_spec *sp = NULL;
	assert_non_null(js_cdi_find(&set, "nvidia.com/gpu", "0:1", &sp));
	assert_ptr_equal(sp, &s);
	assert_null(js_cdi_find(&set, "nvidia.com/gpu", "1", NULL));
	assert_null(js_cdi_find(&set, "amd.com/gpu", "0", NULL));
	assert_true(js_cdi_has_kind(&set, "nvidia.com/gpu"));
	js_cdi_spec_free(&s);
}

static void test_amd_json(void **state)
{
	(void)state;
	struct js_cdi_spec s;
	struct js_err e = {0};
	assert_int_equal(js_cdi_parse(amd_json, strlen(amd_json), "/var/run/cdi/amd.json", &s, &e), 0);
	assert_string_equal(s.kind, "amd.com/gpu");
	assert_int_equal(s.ndev, 1);
	assert_int_equal(s.dev[0].edits.nnodes, 2);
	assert_string_equal(s.dev[0].edits.node[1].path, "/dev/kfd");
	assert_false(s.edits.ldcache);
	js_cdi_spec_free(&s);
}

/* text must be refused with a message containing want. */
static void refused(const char *text, const char *want)
{
	struct js_cdi_spec s;
	struct js_err e = {0};
	int r = js_cdi_parse(text, strlen(text), "/etc/cdi/x.yaml", &s, &e);
	if (r == 0 || !strstr(e.msg, want) || !strstr(e.msg, "/etc/cdi/x.yaml"))
		fail_msg("spec\n%s\nr=%d msg \"%s\", wanted \"%s\"", text, r, e.msg, want);
	assert_null(s.dev);
}

#define HEAD "cdiVersion: 0.5.0\nkind: nvidia.com/gpu\n"
#define DEV0 "devices:\n- name: \"0\"\n  containerEdits:\n    deviceNodes:\n    - path: /dev/nvidia0\n"

static void test_hostile(void **state)
{
	(void)state;
	/* the basics */
	refused("", "empty");
	refused("[unclosed", "did not find expected");
	refused("- a\n- b\n", "expected a mapping");
	refused("kind: nvidia.com/gpu\n" DEV0, "no cdiVersion");
	refused("cdiVersion: 0.5.0\n" DEV0, "no kind");
	refused(HEAD, "no devices");
	refused(HEAD "devices: []\n", "no devices");
	refused("cdiVersion: 0.5.0\nkind: nvidia\n" DEV0, "kind \"nvidia\" is not vendor/class");
	refused("cdiVersion: 0.5.0\nkind: \"-x/gpu\"\n" DEV0, "is not vendor/class");
	refused(HEAD "devices:\n- name: \"../0\"\n  containerEdits: {}\n", "is not a CDI device name");
	refused(HEAD "devices:\n- name: \"0\"\n", "has no containerEdits");
	refused(HEAD "devices:\n- containerEdits: {}\n", "without a name");
	refused(HEAD DEV0 "- name: \"0\"\n  containerEdits: {}\n", "listed twice");
	refused(HEAD "devices:\n- name: [0]\n  containerEdits: {}\n", "expected a string");
	refused(HEAD "devices:\n- name: \"a\\0b\"\n  containerEdits: {}\n", "NUL byte");
	refused(HEAD DEV0 "---\n" HEAD DEV0, "more than one YAML document");
	/* device nodes: only plain paths under /dev, only character devices */
	refused(HEAD "devices:\n- name: a\n  containerEdits:\n    deviceNodes:\n    - path: dev/nvidia0\n",
		"not a plain path under /dev/");
	refused(HEAD "devices:\n- name: a\n  containerEdits:\n    deviceNodes:\n    - path: /dev/../etc/shadow\n",
		"not a plain path under /dev/");
	refused(HEAD "devices:\n- name: a\n  containerEdits:\n    deviceNodes:\n    - path: /etc/shadow\n",
		"not a plain path under /dev/");
	refused(HEAD "devices:\n- name: a\n  containerEdits:\n    deviceNodes:\n    - path: /dev/sda\n      type: b\n",
		"only character devices");
	refused(HEAD "devices:\n- name: a\n  containerEdits:\n    deviceNodes:\n    - path: /dev/nvidia0\n"
		     "      hostPath: /dev/sda\n",
		"a hostPath other than the path");
	refused(HEAD "devices:\n- name: a\n  containerEdits:\n    deviceNodes:\n    - path: /dev/nvidia0\n"
		     "      permissions: rwx\n",
		"only r, w and m");
	refused(HEAD "devices:\n- name: a\n  containerEdits:\n    deviceNodes:\n    - path: /dev/nvidia0\n"
		     "      major: -1\n",
		"not a number in range");
	refused(HEAD "devices:\n- name: a\n  containerEdits:\n    deviceNodes:\n    - {hostPath: /dev/nvidia0}\n",
		"no path");
	/* mounts: absolute, no . or .. */
	refused(HEAD DEV0 "containerEdits:\n  mounts:\n  - {hostPath: /usr/lib/../../etc/shadow, containerPath: /x}\n",
		"mounts hostPath");
	refused(HEAD DEV0 "containerEdits:\n  mounts:\n  - {hostPath: usr/lib/libcuda.so, containerPath: /x}\n",
		"mounts hostPath");
	refused(HEAD DEV0 "containerEdits:\n  mounts:\n  - {hostPath: /usr/lib/libcuda.so, containerPath: /a/./b}\n",
		"mounts containerPath");
	refused(HEAD DEV0 "containerEdits:\n  mounts:\n  - {hostPath: \"/usr/lib/a\\nb\", containerPath: /x}\n",
		"mounts hostPath");
	refused(HEAD DEV0 "containerEdits:\n  mounts:\n  - {hostPath: /a, containerPath: /b, options: ro}\n",
		"expected a list");
	/* hooks */
	refused(HEAD DEV0 "containerEdits:\n  hooks:\n  - {hookName: whenever, path: /bin/x}\n",
		"not an OCI hook name");
	refused(HEAD DEV0 "containerEdits:\n  hooks:\n  - {hookName: prestart, path: x}\n", "not an absolute path");
	refused(HEAD DEV0 "containerEdits:\n  hooks:\n  - {hookName: prestart, path: /x, args: [x, "
			  "create-symlinks, --link, libcuda.so.1]}\n",
		"expected TARGET::LINK");
	refused(HEAD DEV0 "containerEdits:\n  hooks:\n  - {hookName: prestart, path: /x, args: [x, "
			  "create-symlinks, --link, \"libcuda.so.1::lib/x\"]}\n",
		"the link must be an absolute path");
	/* YAML aliases (a billion laughs, a loop) are refused outright */
	refused("a: &a [x, x, x, x, x, x, x, x, x]\n"
		"b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
		"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n" HEAD "devices:\n- name: a\n  containerEdits:\n"
		"    mounts: [*c]\n",
		"aliases are not accepted");
	refused(HEAD "devices:\n- &d\n  name: a\n  containerEdits: {}\n- *d\n", "aliases are not accepted");
}

static void test_bounds(void **state)
{
	(void)state;
	/* more devices than JS_CDI_DEVICES_MAX */
	size_t cap = 64 * 1024;
	char *t = malloc(cap);
	assert_non_null(t);
	size_t n = (size_t)snprintf(t, cap, HEAD "devices:\n");
	for (int i = 0; i <= JS_CDI_DEVICES_MAX; i++)
		n += (size_t)snprintf(t + n, cap - n, "- {name: d%d, containerEdits: {}}\n", i);
	assert_true(n < cap);
	refused(t, "too many entries");
	/* a path longer than JS_CDI_PATH_MAX */
	n = (size_t)snprintf(t, cap, HEAD DEV0 "containerEdits:\n  mounts:\n  - {containerPath: /x, hostPath: /");
	for (int i = 0; i < JS_CDI_PATH_MAX; i++)
		t[n++] = 'a';
	snprintf(t + n, cap - n, "}\n");
	refused(t, "longer than the limit");
	free(t);
	/* a file over JS_CDI_FILE_MAX is not even parsed */
	struct js_cdi_spec s;
	struct js_err e = {0};
	assert_int_equal(js_cdi_parse(nvidia_yaml, (size_t)JS_CDI_FILE_MAX + 1, "/etc/cdi/big.yaml", &s, &e), -EFBIG);
}

static void test_names(void **state)
{
	(void)state;
	assert_true(js_cdi_kind_ok("nvidia.com/gpu", 14));
	assert_false(js_cdi_kind_ok("nvidia.com", 10));
	assert_false(js_cdi_kind_ok("nvidia.com/", 11));
	assert_false(js_cdi_kind_ok("/gpu", 4));
	assert_true(js_cdi_devname_ok("0:1", 3));
	assert_true(js_cdi_devname_ok("MIG-dddddddd-0000-0000-0000-000000000011", 40));
	assert_false(js_cdi_devname_ok(":0", 2));
	assert_false(js_cdi_devname_ok("a/b", 3));
	assert_true(js_cdi_path_ok("/usr/lib/libcuda.so.1"));
	assert_true(js_cdi_path_ok("/"));
	assert_false(js_cdi_path_ok("/usr//lib"));
	assert_false(js_cdi_path_ok("/usr/lib/"));
	assert_false(js_cdi_path_ok("/usr/../etc"));
	assert_false(js_cdi_path_ok("relative"));
}

/* ---- resolution: gpus = entries through a spec (lib/gpu.c) ---- */

#define FMT(buf, ...) assert_true(snprintf((buf), sizeof(buf), __VA_ARGS__) < (int)sizeof(buf))

static void put(const char *root, const char *rel, const char *text)
{
	char p[PATH_MAX];
	FMT(p, "%s/%s", root, rel);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static const char *resolve_spec = HEAD "devices:\n"
				       "- {name: \"0\", containerEdits: {deviceNodes: [{path: /dev/nvidia0}]}}\n"
				       "- {name: \"1\", containerEdits: {deviceNodes: [{path: /dev/nvidia1}]}}\n"
				       "- {name: \"0:1\", containerEdits: {deviceNodes: [{path: /dev/nvidia0}, "
				       "{path: /dev/nvidia-caps/nvidia-cap21}]}}\n"
				       "containerEdits:\n"
				       "  deviceNodes: [{path: /dev/nvidiactl}, {path: /dev/nvidia-uvm-tools}]\n";

static bool has_path(const struct js_dev_list *l, const char *path)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->r[i].path, path))
			return true;
	return false;
}

/* The rules `gpus =` gets on the fake host at root with the specs cdi. */
static int select_on(const char *root, const struct js_cdi_set *cdi, const char *gpus, struct js_dev_list *l,
		     struct js_err *e)
{
	struct js_gpu_sel sel;
	char why[256];
	if (js_parse_gpus(gpus, &sel, why, sizeof why) < 0)
		fail_msg("gpus = %s: %s", gpus, why);
	struct js_gpu_list all;
	assert_int_equal(js_gpu_discover(root, &all, e), 0);
	memset(l, 0, sizeof *l);
	int r = js_gpu_select_cdi(root, &all, cdi, &sel, l, e);
	js_gpu_list_free(&all);
	return r;
}

static void test_resolve(void **state)
{
	(void)state;
	JS_SKIP_IF(geteuid() != 0, "device nodes need root (mknod)");
	char root[] = "/tmp/jsb-cdi-test.XXXXXX", p[PATH_MAX];
	assert_non_null(mkdtemp(root));
	static const char *const dirs[] = {"dev",
					   "dev/nvidia-caps",
					   "proc",
					   "proc/driver",
					   "proc/driver/nvidia",
					   "proc/driver/nvidia/gpus",
					   "proc/driver/nvidia/gpus/0000:3b:00.0",
					   "proc/driver/nvidia/gpus/0000:86:00.0"};
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		FMT(p, "%s/%s", root, dirs[i]);
		assert_int_equal(mkdir(p, 0755), 0);
	}
	put(root, "proc/driver/nvidia/gpus/0000:3b:00.0/information", "Device Minor: 0\nBus Location: 0000:3b:00.0\n");
	put(root, "proc/driver/nvidia/gpus/0000:86:00.0/information", "Device Minor: 1\nBus Location: 0000:86:00.0\n");
	static const struct {
		const char *path;
		unsigned major, minor;
	} nodes[] = {{"dev/nvidia0", 195, 0},
		     {"dev/nvidia1", 195, 1},
		     {"dev/nvidiactl", 195, 255},
		     {"dev/nvidia-caps/nvidia-cap21", 511, 21}};
	for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
		FMT(p, "%s/%s", root, nodes[i].path);
		assert_int_equal(mknod(p, S_IFCHR | 0600, makedev(nodes[i].major, nodes[i].minor)), 0);
	}
	struct js_cdi_spec spec;
	struct js_err e = {0};
	assert_int_equal(js_cdi_parse(resolve_spec, strlen(resolve_spec), "/etc/cdi/t.yaml", &spec, &e), 0);
	struct js_cdi_set cdi = {.n = 1, .spec = &spec};
	struct js_dev_list l;

	/* one MIG instance: its GPU's node and its own capability, the
	 * spec-wide node the host has, not the one it lacks */
	if (select_on(root, &cdi, "nvidia.com/gpu=0:1", &l, &e) < 0)
		fail_msg("0:1: %s", e.msg);
	assert_int_equal(l.n, 3);
	assert_true(has_path(&l, "/dev/nvidia0") && has_path(&l, "/dev/nvidia-caps/nvidia-cap21") &&
		    has_path(&l, "/dev/nvidiactl"));
	assert_int_equal(l.r[1].major, 511);
	js_dev_list_free(&l);

	/* an index goes to the spec device naming the GPU's node; a whole
	 * GPU does not get a MIG instance's capability */
	if (select_on(root, &cdi, "1", &l, &e) < 0)
		fail_msg("1: %s", e.msg);
	assert_int_equal(l.n, 2);
	assert_true(has_path(&l, "/dev/nvidia1") && has_path(&l, "/dev/nvidiactl"));
	js_dev_list_free(&l);
	if (select_on(root, &cdi, "0000:3b:00.0", &l, &e) < 0)
		fail_msg("pci: %s", e.msg);
	assert_true(has_path(&l, "/dev/nvidia0") && !has_path(&l, "/dev/nvidia-caps/nvidia-cap21"));
	js_dev_list_free(&l);

	/* errors: a name no spec has, a MIG UUID no spec names, no spec at all */
	assert_int_equal(select_on(root, &cdi, "nvidia.com/gpu=7", &l, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "nvidia.com/gpu=7 is in none of the host's CDI specs"));
	assert_int_equal(select_on(root, &cdi, "MIG-dddddddd-0000-0000-0000-000000000011", &l, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "no CDI spec names this MIG device"));
	struct js_cdi_set none = {0};
	assert_int_equal(select_on(root, &none, "nvidia.com/gpu=0", &l, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "the host has no CDI spec"));
	/* without a spec, discovery as before */
	if (select_on(root, &none, "1", &l, &e) < 0)
		fail_msg("1 without spec: %s", e.msg);
	assert_true(has_path(&l, "/dev/nvidia1"));
	js_dev_list_free(&l);
	js_cdi_spec_free(&spec);

	/* a stale spec (GPU 1 missing) refuses, a node that differs refuses */
	const char *stale = HEAD "devices:\n- {name: \"0\", containerEdits: {deviceNodes: [{path: /dev/nvidia0}]}}\n";
	assert_int_equal(js_cdi_parse(stale, strlen(stale), "/etc/cdi/t.yaml", &spec, &e), 0);
	assert_int_equal(select_on(root, &cdi, "1", &l, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "regenerate"));
	js_cdi_spec_free(&spec);
	const char *wrong = HEAD "devices:\n- {name: \"0\", containerEdits: {deviceNodes: [{path: /dev/nvidia0, "
				 "major: 195, minor: 3}]}}\n";
	assert_int_equal(js_cdi_parse(wrong, strlen(wrong), "/etc/cdi/t.yaml", &spec, &e), 0);
	assert_int_equal(select_on(root, &cdi, "nvidia.com/gpu=0", &l, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "195:0 on the host, the spec says 195:3"));
	js_cdi_spec_free(&spec);
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_nvidia_yaml), cmocka_unit_test(test_amd_json), cmocka_unit_test(test_hostile),
	    cmocka_unit_test(test_bounds),	cmocka_unit_test(test_names),	 cmocka_unit_test(test_resolve),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
