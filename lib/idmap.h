/* SPDX-License-Identifier: MIT */
/* Subordinate id ranges (/etc/subuid, /etc/subgid) and keep-id maps.
 *
 * A keep-id map gives the user's container: inside 0 -> the first
 * subordinate id, the user's own id (and, for gids, each of the user's
 * groups) -> itself, every other inside id -> the rest of the range, so
 * files the user makes in their home are theirs on the host too. */
#ifndef JSANDBOX_IDMAP_H
#define JSANDBOX_IDMAP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "jsutil.h"

#define JS_SUBID_MIN_COUNT    65536u
#define JS_IDMAP_MAX_EXTENTS  340 /* the kernel's limit per map */
#define JS_IDMAP_MAX_IDENTITY 64

struct js_subid {
	uint32_t start;
	uint32_t count;
};

struct js_extent {
	uint32_t inside, outside, count;
};

struct js_idmap {
	size_t n;
	struct js_extent ext[JS_IDMAP_MAX_EXTENTS];
};

/* Find the range of `name` (or numeric `id`) in a subordinate id file given
 * as text. Checks the range: at least JS_SUBID_MIN_COUNT ids, no 32-bit
 * overflow, no overlap with another entry of the file, and it must not
 * contain `own_id`. Returns 0, -ENOENT when there is no entry, -EINVAL with
 * a reason otherwise. */
int js_subid_find(const char *text, const char *name, uint32_t id, uint32_t own_id, struct js_subid *out,
		  struct js_err *err);

/* Read `path` (root-owned, not writable by others) and call js_subid_find. */
int js_subid_lookup(const char *path, const char *name, uint32_t id, struct js_subid *out, struct js_err *err);

/* The ids accounts hold, to check subordinate ranges against: with `gids`
 * false every passwd entry's uid (getpwent); true, every group's gid
 * (getgrent) and every passwd entry's primary gid. Sorted by id. NSS is
 * enumerated at most JS_ACCOUNTS_MAX entries a database (more: -E2BIG,
 * nothing can be vouched for), so never from inside another
 * getpwent/getgrent loop. */
#define JS_ACCOUNTS_MAX 1000000u
struct js_account {
	uint32_t id;
	const char *what; /* "account", "group", "the primary group of account" */
	char name[33];
};
struct js_accounts {
	size_t n;
	struct js_account *v;
};
int js_accounts_load(bool gids, struct js_accounts *out, struct js_err *err);
void js_accounts_free(struct js_accounts *a);

/* A subordinate range must hold no account's id: root inside would own
 * that account's files on the host. `kind` is "uid" or "gid"; file and
 * owner name the range in the message. Returns 0 or -EINVAL naming the
 * first account in the range. */
int js_subid_check_accounts(const struct js_subid *r, const struct js_accounts *a, const char *kind, const char *file,
			    const char *owner, struct js_err *err);

/* Build a keep-id map: `identity` ids (any order, duplicates and 0 ignored)
 * map to themselves, inside 0.. fill from the subordinate range around them.
 * An identity id inside the subordinate range on the host is an error. */
int js_idmap_keepid(const struct js_subid *sub, const uint32_t *identity, size_t nidentity, struct js_idmap *out,
		    struct js_err *err);

/* Render as /proc/PID/uid_map text (one line per extent). */
int js_idmap_format(const struct js_idmap *m, char *buf, size_t len);

/* Map an inside id to the host id, or (uint32_t)-1 when unmapped. */
uint32_t js_idmap_to_host(const struct js_idmap *m, uint32_t inside);

#endif
