/* SPDX-License-Identifier: MIT */
/* dpkg's database as text (/var/lib/dpkg/status, apt's extended_states):
 * stanzas parsed in place, and dpkg's version order. Used on a user's
 * layer (hostile: the user is root inside it) by the rebase worker, which
 * runs as that user's inside root (root/rebase.c); bounded, never trusts a
 * length it did not measure. */
#ifndef JSANDBOX_DPKG_H
#define JSANDBOX_DPKG_H

#include <stdbool.h>
#include <stddef.h>

#define JS_DPKG_NAME_MAX 128
#define JS_DPKG_ARCH_MAX 32
#define JS_DPKG_VER_MAX	 256
#define JS_DPKG_TEXT_MAX (64u << 20) /* a status file larger than this is refused */

struct js_dpkg_pkg {
	const char *stanza; /* into the parsed text; len bytes, no trailing blank line */
	size_t len;
	char name[JS_DPKG_NAME_MAX];
	char arch[JS_DPKG_ARCH_MAX];   /* "" when the stanza has none */
	char version[JS_DPKG_VER_MAX]; /* "" when it has none */
	char status[64];	       /* the Status field's last word: "installed", "config-files", ... */
	bool ma_same;		       /* Multi-Arch: same (info files are named PKG:ARCH.*) */
};

struct js_dpkg_db {
	char *text; /* owned */
	size_t n, cap;
	struct js_dpkg_pkg *v;
};

/* Parse text (len bytes, taken over: freed with the db, also on failure)
 * into db. Stanzas without a Package field are dropped. 0, or -EINVAL
 * (a field too long, a stanza without a name) / -ENOMEM. */
int js_dpkg_parse(char *text, size_t len, struct js_dpkg_db *db);
void js_dpkg_free(struct js_dpkg_db *db);

/* The stanza of name:arch (arch "" matches a stanza without one). */
const struct js_dpkg_pkg *js_dpkg_find(const struct js_dpkg_db *db, const char *name, const char *arch);

/* dpkg's order of versions ([epoch:]upstream[-revision], '~' before
 * everything, digits compared as numbers): <0, 0, >0. */
int js_dpkg_vercmp(const char *a, const char *b);

/* Is the package installed (Status ... installed)? */
bool js_dpkg_installed(const struct js_dpkg_pkg *p);

/* Call fn for each path of the stanza's Conffiles field. */
void js_dpkg_conffiles(const struct js_dpkg_pkg *p, void (*fn)(const char *path, size_t len, void *ctx), void *ctx);

/* The value of field f of the stanza (its first line), in buf: 1 found,
 * 0 absent, -EINVAL too long for buf or holding a control byte. */
int js_dpkg_field(const struct js_dpkg_pkg *p, const char *f, char *buf, size_t len);

/* Are the relations of a Depends-style value (groups separated by ',',
 * alternatives by '|', each "name[:arch] [(op version)]") satisfied by the
 * installed packages of db, real or provided? 1 yes; 0 no, with the first
 * unsatisfied group in `missing` (trimmed, cut to mlen). */
int js_dpkg_deps_met(const struct js_dpkg_db *db, const char *deps, char *missing, size_t mlen);

#endif
