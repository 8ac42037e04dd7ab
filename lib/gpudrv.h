/* SPDX-License-Identifier: MIT */
/* The NVIDIA driver's user-space files a CUDA process needs, found on the
 * host (under host_root) the way `nvidia-container-cli list` finds them,
 * without running anything: the loaded kernel module's version from
 * proc/driver/nvidia/version (else the version libcuda.so.1 links to),
 * the libraries of that version through the host's ld cache
 * (etc/ld.so.cache), and the driver's tools in usr/bin. See docs/gpus.md. */
#ifndef JSANDBOX_GPUDRV_H
#define JSANDBOX_GPUDRV_H

#include <stdbool.h>
#include <stddef.h>

#include "devices.h"
#include "jsutil.h"

#define JS_DRV_FILES_MAX 192

struct js_drv_file {
	char host[256];	   /* path under host_root, without the leading '/' */
	char name[256];	   /* where it goes in the container (js_node_file_ok) */
	char links[4][64]; /* JS_DRIVER_DIR links to it: sonames, the .so link */
	size_t nlinks;
	bool sock; /* the persistenced socket: a socket, not root's file */
	bool dir;  /* a directory (the firmware's) */
};

struct js_drv {
	char version[32]; /* "535.104.05"; "" when no NVIDIA driver is found */
	size_t n;
	struct js_drv_file f[JS_DRV_FILES_MAX];
};

struct js_cdi_edits;

/* List the driver's files under host_root (appended to drv, which the
 * caller zeroes first). No NVIDIA driver (no version
 * anywhere) is not an error: drv->version is "" and n is 0. A library of
 * another version than the kernel module's is left out (a stale one from
 * an earlier driver). Every file is opened with js_open_rootowned_beneath:
 * a file or directory on the way that is a link, not root's or writable
 * by others is an error naming it. */
int js_drv_discover(const char *host_root, struct js_drv *drv, struct js_err *err);

/* Append each listed file to `nodes` as a JS_NODE_FILE (a detached
 * read-only, nosuid, nodev mount of the host file, made here as root) and
 * its links as JS_NODE_LINK. */
int js_drv_open(const char *host_root, const struct js_drv *drv, struct js_dev_nodes *nodes, struct js_err *err);

/* Add a CDI spec's (or device's) mounts to drv:
 * each host file opened beneath host_root with js_open_rootowned_beneath
 * (spec names the spec in messages); a library goes into JS_DRIVER_DIR, a
 * tool to /usr/bin, the persistenced socket and the firmware to their
 * places; other mounts (graphics configuration) are not bound. */
int js_drv_add_cdi(const char *host_root, const char *spec, const struct js_cdi_edits *e, struct js_drv *drv,
		   struct js_err *err);

/* The sonames of drv's libraries from the host's ld cache, as links in
 * JS_DRIVER_DIR (what the spec's update-ldcache hook gets from ldconfig). */
int js_drv_cdi_sonames(const char *host_root, struct js_drv *drv, struct js_err *err);

/* The links of a spec's (or device's) create-symlinks hooks that name,
 * in a library directory, one of drv's libraries or their sonames: made
 * in JS_DRIVER_DIR (after js_drv_cdi_sonames). Others are not made. */
int js_drv_add_cdi_links(const struct js_cdi_edits *e, struct js_drv *drv, struct js_err *err);

/* The version in the text of proc/driver/nvidia/version ("NVRM version:
 * NVIDIA UNIX x86_64 Kernel Module  535.104.05  ..."). For tests. */
bool js_drv_parse_version(const char *text, char *out, size_t outlen);

#endif
