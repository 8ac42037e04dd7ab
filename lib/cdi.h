/* SPDX-License-Identifier: MIT */
/* Container Device Interface specs (https://github.com/cncf-tags/
 * container-device-interface, SPEC.md): what `nvidia-ctk cdi generate`,
 * AMD's and Intel's generators write under /etc/cdi and /var/run/cdi.
 * Parsed with libyaml (JSON specs are YAML too), checked, and reduced to
 * what jsandbox applies itself: device nodes, read-only mounts, the links
 * of a create-symlinks hook and whether an update-ldcache hook asks for
 * the ld cache. A hook's binary is never run; env, annotations and other
 * hooks are ignored. See docs/gpus.md. */
#ifndef JSANDBOX_CDI_H
#define JSANDBOX_CDI_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "jsutil.h"

#define JS_CDI_FILE_MAX	   (1u << 20) /* bytes in one spec file */
#define JS_CDI_FILES_MAX   32	      /* spec files read */
#define JS_CDI_NODES_MAX   64	      /* per containerEdits */
#define JS_CDI_MOUNTS_MAX  256
#define JS_CDI_LINKS_MAX   256
#define JS_CDI_DEVICES_MAX 256 /* per spec */
#define JS_CDI_NAME_MAX	   96  /* "vendor/class=name" fits in it */
#define JS_CDI_PATH_MAX	   256

struct js_cdi_node {
	char path[64];	   /* container and host path (hostPath, if given, must equal it) */
	long major, minor; /* -1 when the spec leaves them to the host node */
	unsigned access;   /* JS_DEV_READ|JS_DEV_WRITE from "permissions" (m is never granted) */
};

struct js_cdi_mount {
	char host[JS_CDI_PATH_MAX]; /* absolute, normalised */
	char ctr[JS_CDI_PATH_MAX];
};

struct js_cdi_link { /* create-symlinks' --link TARGET::LINK */
	char target[JS_CDI_PATH_MAX];
	char link[JS_CDI_PATH_MAX];
};

struct js_cdi_edits {
	size_t nnodes, nmounts, nlinks;
	struct js_cdi_node *node;
	struct js_cdi_mount *mount;
	struct js_cdi_link *link;
	bool ldcache; /* an update-ldcache hook */
};

struct js_cdi_device {
	char name[JS_CDI_NAME_MAX]; /* "0", "GPU-...", "0:1", "all" */
	struct js_cdi_edits edits;
};

struct js_cdi_spec {
	char file[JS_CDI_PATH_MAX]; /* "/etc/cdi/nvidia.yaml", for messages */
	char kind[JS_CDI_NAME_MAX]; /* "nvidia.com/gpu" */
	struct js_cdi_edits edits;  /* the spec-wide containerEdits */
	size_t ndev;
	struct js_cdi_device *dev;
};

struct js_cdi_set {
	size_t n;
	struct js_cdi_spec *spec;
};

/* Parse one spec (YAML or JSON text of len bytes); `file` names it in
 * messages. Anything malformed, out of bounds or unsafe (a relative path,
 * a ".." component, a device path outside /dev, an alias, a
 * permission other than r, w, m) is an error naming the file, the line
 * and the field. */
int js_cdi_parse(const char *text, size_t len, const char *file, struct js_cdi_spec *out, struct js_err *err);

void js_cdi_spec_free(struct js_cdi_spec *s);

/* Every spec of etc/cdi and var/run/cdi under the root rootfd (*.yaml,
 * *.yml, *.json, in name order, /etc/cdi first), each opened with
 * js_open_rootowned_beneath. No directory is no spec (n = 0). Any file
 * that cannot be read or parsed, or two devices of one kind with the
 * same name, is an error. */
int js_cdi_load(int rootfd, struct js_cdi_set *out, struct js_err *err);

void js_cdi_set_free(struct js_cdi_set *s);

/* The device `name` of kind `kind`, NULL when absent; *spec set to its
 * spec. */
const struct js_cdi_device *js_cdi_find(const struct js_cdi_set *s, const char *kind, const char *name,
					const struct js_cdi_spec **spec);

/* Whether kind has at least one spec. */
bool js_cdi_has_kind(const struct js_cdi_set *s, const char *kind);

/* CDI's names (SPEC.md): kind "vendor/class", vendor and class each
 * [A-Za-z0-9][A-Za-z0-9_.-]*; device name [A-Za-z0-9][A-Za-z0-9_.:-]*.
 * Inline: the policy parser (conf/) checks `gpus =` entries with them. */
static inline bool js_cdi_word_ok(const char *s, size_t len, bool colon)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		bool an = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (!an && (i == 0 || !(c == '_' || c == '.' || c == '-' || (colon && c == ':'))))
			return false;
	}
	return true;
}

static inline bool js_cdi_kind_ok(const char *kind, size_t len)
{
	const char *slash = (const char *)memchr(kind, '/', len);
	if (!slash || len >= JS_CDI_NAME_MAX)
		return false;
	size_t vl = (size_t)(slash - kind);
	return js_cdi_word_ok(kind, vl, false) && js_cdi_word_ok(slash + 1, len - vl - 1, false);
}

static inline bool js_cdi_devname_ok(const char *name, size_t len)
{
	return len < JS_CDI_NAME_MAX && js_cdi_word_ok(name, len, true);
}

/* A path as a spec may give it: absolute, no "." or ".." component, no
 * empty component, no control character, shorter than JS_CDI_PATH_MAX. */
bool js_cdi_path_ok(const char *p);

#endif
