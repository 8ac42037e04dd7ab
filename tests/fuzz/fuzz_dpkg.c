/* SPDX-License-Identifier: MIT */
/* libFuzzer target: dpkg's status file as the rebase worker reads it from
 * a user's layer (lib/dpkg.c): the stanzas, their fields, the Conffiles
 * lines, the Depends relations against the rest, and dpkg's version order
 * over what it found. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dpkg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void count(const char *path, size_t len, void *ctx)
{
	size_t *n = ctx;
	if (len == 0 || path[0] != '/')
		abort();
	(*n)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	struct js_dpkg_db db;
	if (js_dpkg_parse(text, size, &db) == 0) {
		for (size_t i = 0; i < db.n; i++) {
			const struct js_dpkg_pkg *p = &db.v[i];
			if (p->stanza < db.text || p->stanza + p->len > db.text + size || !p->name[0])
				abort();
			size_t n = 0;
			js_dpkg_conffiles(p, count, &n);
			if (js_dpkg_find(&db, p->name, p->arch) == NULL)
				abort();
			(void)js_dpkg_installed(p);
			char deps[4096], missing[64];
			if (js_dpkg_field(p, "Depends", deps, sizeof deps) > 0)
				(void)js_dpkg_deps_met(&db, deps, missing, sizeof missing);
			const char *prev = i ? db.v[i - 1].version : "0";
			int a = js_dpkg_vercmp(p->version, prev), b = js_dpkg_vercmp(prev, p->version);
			/* antisymmetric, and equal to itself */
			if ((a > 0 && b >= 0) || (a < 0 && b <= 0) || (a == 0 && b != 0) ||
			    js_dpkg_vercmp(p->version, p->version) != 0)
				abort();
		}
	}
	js_dpkg_free(&db);
	return 0;
}
