/* SPDX-License-Identifier: MIT */
/* A user's layer moved onto an updated image (docs/images.md, "How a
 * user's layer follows an update"): a fresh layer made as "the new image
 * plus what this user installed and changed", swapped in for the old one.
 * The work on the layer's contents runs as the user's inside root, in a
 * user and mount namespace of its own (root/rebase.c): the layer is the
 * user's, and nothing in it is read or written by host root. */
#ifndef JSANDBOX_REBASE_H
#define JSANDBOX_REBASE_H

#include <stdbool.h>
#include <stdint.h>

#include "container.h"
#include "layer.h"

struct js_rebase_result {
	bool done; /* false: nothing to do (no layer, or already on the image) */
	char from[JS_IMAGE_ID_MAX], to[JS_IMAGE_ID_MAX];
	unsigned carried;     /* the user's own packages, kept */
	unsigned followed;    /* packages now at the image's version */
	unsigned kept_newer;  /* the user's newer version kept */
	unsigned not_carried; /* packages or files that could not be carried over */
	unsigned problems;    /* the user's packages whose relations the new image breaks */
	char *report;	      /* one line per finding (malloc'd, may be NULL) */
};
void js_rebase_result_free(struct js_rebase_result *r);

/* Is u's layer behind `image` (its record names another image or id)?
 * 1 yes (b and id filled), 0 no (or no layer, or no record yet), -errno. */
int js_layer_behind(const struct js_global *g, int state, const struct js_user *u, const char *image,
		    struct js_layer_base *b, char *id, size_t idlen);

/* Rebase u's layer onto `image` (a js_layer_fn body: under u's lock, no
 * container of u alive; state and users open). With `force` it is redone
 * even when the record says the layer is on the image already. On failure
 * the old layer is untouched. The record (js_layer_base_write) says the
 * new image afterwards. */
int js_rebase_layer(const struct js_global *g, const struct js_user *u, const char *image, uint64_t disk_max,
		    bool force, int state, int users, struct js_rebase_result *res, struct js_err *err);

#endif
