/* SPDX-License-Identifier: MIT */
#include "dpkg.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The value of field `f` in one stanza: its first line, trimmed. 1 found,
 * 0 not, -EINVAL too long for out. */
static int field(const char *s, size_t len, const char *f, char *out, size_t olen)
{
	size_t fl = strlen(f);
	const char *end = s + len;
	for (const char *l = s; l < end;) {
		const char *nl = memchr(l, '\n', (size_t)(end - l));
		const char *le = nl ? nl : end;
		if ((size_t)(le - l) > fl && l[fl] == ':' && !strncasecmp(l, f, fl)) {
			const char *v = l + fl + 1;
			while (v < le && (*v == ' ' || *v == '\t'))
				v++;
			const char *ve = le;
			while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t' || ve[-1] == '\r'))
				ve--;
			if ((size_t)(ve - v) >= olen)
				return -EINVAL;
			/* a NUL or a control byte is no dpkg value */
			for (const char *c = v; c < ve; c++)
				if ((unsigned char)*c < ' ' && *c != '\t')
					return -EINVAL;
			memcpy(out, v, (size_t)(ve - v));
			out[ve - v] = '\0';
			return 1;
		}
		l = le + 1;
	}
	out[0] = '\0';
	return 0;
}

static int add_stanza(struct js_dpkg_db *db, const char *s, size_t len)
{
	struct js_dpkg_pkg p = {.stanza = s, .len = len};
	char status[256], ma[64];
	int r = field(s, len, "Package", p.name, sizeof p.name);
	if (r < 0)
		return r;
	if (r == 0 || !p.name[0])
		return 0; /* a stanza that names nothing is nothing to dpkg */
	if (field(s, len, "Architecture", p.arch, sizeof p.arch) < 0 ||
	    field(s, len, "Version", p.version, sizeof p.version) < 0 ||
	    field(s, len, "Status", status, sizeof status) < 0 || field(s, len, "Multi-Arch", ma, sizeof ma) < 0)
		return -EINVAL;
	const char *w = strrchr(status, ' ');
	w = w ? w + 1 : status;
	if (strlen(w) >= sizeof p.status)
		return -EINVAL;
	strcpy(p.status, w);
	p.ma_same = !strcmp(ma, "same");
	if (db->n == db->cap) {
		size_t cap = db->cap ? db->cap * 2 : 256;
		struct js_dpkg_pkg *v = realloc(db->v, cap * sizeof *v);
		if (!v)
			return -ENOMEM;
		db->v = v;
		db->cap = cap;
	}
	db->v[db->n++] = p;
	return 0;
}

int js_dpkg_parse(char *text, size_t len, struct js_dpkg_db *db)
{
	memset(db, 0, sizeof *db);
	db->text = text;
	const char *end = text + len, *start = NULL;
	for (const char *l = text; l < end;) {
		const char *nl = memchr(l, '\n', (size_t)(end - l));
		const char *le = nl ? nl : end;
		bool blank = true;
		for (const char *c = l; c < le; c++)
			blank = blank && (*c == ' ' || *c == '\t' || *c == '\r');
		if (blank) {
			if (start) {
				int r = add_stanza(db, start, (size_t)(l - start));
				if (r < 0)
					return r;
			}
			start = NULL;
		} else if (!start) {
			start = l;
		}
		l = le + 1;
	}
	if (start) {
		int r = add_stanza(db, start, (size_t)(end - start));
		if (r < 0)
			return r;
	}
	return 0;
}

void js_dpkg_free(struct js_dpkg_db *db)
{
	free(db->text);
	free(db->v);
	memset(db, 0, sizeof *db);
}

const struct js_dpkg_pkg *js_dpkg_find(const struct js_dpkg_db *db, const char *name, const char *arch)
{
	for (size_t i = 0; i < db->n; i++)
		if (!strcmp(db->v[i].name, name) && !strcmp(db->v[i].arch, arch))
			return &db->v[i];
	return NULL;
}

bool js_dpkg_installed(const struct js_dpkg_pkg *p)
{
	return !strcmp(p->status, "installed");
}

/* ---- dpkg's version order -------------------------------------------------- */

static int order(int c)
{
	if (isdigit(c))
		return 0;
	if (isalpha(c))
		return c;
	if (c == '~')
		return -1;
	if (c)
		return c + 256;
	return 0;
}

static int part_cmp(const char *a, const char *ae, const char *b, const char *be)
{
	while (a < ae || b < be) {
		int first = 0;
		while ((a < ae && !isdigit((unsigned char)*a)) || (b < be && !isdigit((unsigned char)*b))) {
			int ac = a < ae ? order((unsigned char)*a) : 0;
			int bc = b < be ? order((unsigned char)*b) : 0;
			if (ac != bc)
				return ac - bc;
			a += a < ae;
			b += b < be;
		}
		while (a < ae && *a == '0')
			a++;
		while (b < be && *b == '0')
			b++;
		while (a < ae && b < be && isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
			if (!first)
				first = *a - *b;
			a++;
			b++;
		}
		if (a < ae && isdigit((unsigned char)*a))
			return 1;
		if (b < be && isdigit((unsigned char)*b))
			return -1;
		if (first)
			return first;
	}
	return 0;
}

struct ver {
	unsigned long epoch;
	const char *up, *upe, *rev, *reve;
};

static void split(const char *v, struct ver *o)
{
	const char *colon = strchr(v, ':');
	o->epoch = 0;
	if (colon) {
		for (const char *c = v; c < colon; c++)
			if (isdigit((unsigned char)*c) && o->epoch < (1ul << 40))
				o->epoch = o->epoch * 10 + (unsigned long)(*c - '0');
		v = colon + 1;
	}
	const char *end = v + strlen(v);
	const char *dash = strrchr(v, '-');
	o->up = v;
	if (dash) {
		o->upe = dash;
		o->rev = dash + 1;
		o->reve = end;
	} else {
		o->upe = end;
		o->rev = o->reve = end;
	}
}

int js_dpkg_vercmp(const char *a, const char *b)
{
	struct ver x, y;
	split(a, &x);
	split(b, &y);
	if (x.epoch != y.epoch)
		return x.epoch > y.epoch ? 1 : -1;
	int r = part_cmp(x.up, x.upe, y.up, y.upe);
	if (r)
		return r;
	return part_cmp(x.rev, x.reve, y.rev, y.reve);
}

/* ---- Conffiles -------------------------------------------------------------- */

void js_dpkg_conffiles(const struct js_dpkg_pkg *p, void (*fn)(const char *path, size_t len, void *ctx), void *ctx)
{
	const char *s = p->stanza, *end = p->stanza + p->len;
	bool in = false;
	for (const char *l = s; l < end;) {
		const char *nl = memchr(l, '\n', (size_t)(end - l));
		const char *le = nl ? nl : end;
		if (*l != ' ' && *l != '\t') {
			in = (size_t)(le - l) >= 10 && !strncasecmp(l, "Conffiles:", 10);
		} else if (in) {
			const char *c = l;
			while (c < le && (*c == ' ' || *c == '\t'))
				c++;
			const char *pe = c;
			while (pe < le && *pe != ' ' && *pe != '\t')
				pe++;
			if (pe > c && *c == '/')
				fn(c, (size_t)(pe - c), ctx);
		}
		l = le + 1;
	}
}

int js_dpkg_field(const struct js_dpkg_pkg *p, const char *f, char *buf, size_t len)
{
	return field(p->stanza, p->len, f, buf, len);
}

/* ---- relations ----------------------------------------------------------------- */

static const char *skip_ws(const char *s, const char *e)
{
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	return s;
}

/* Does version v satisfy "op want"? */
static bool relation_holds(const char *v, const char *op, const char *want)
{
	int c = js_dpkg_vercmp(v, want);
	if (!strcmp(op, "<<"))
		return c < 0;
	if (!strcmp(op, "<=") || !strcmp(op, "<"))
		return c <= 0;
	if (!strcmp(op, "="))
		return c == 0;
	if (!strcmp(op, ">=") || !strcmp(op, ">"))
		return c >= 0;
	if (!strcmp(op, ">>"))
		return c > 0;
	return false;
}

/* Is name (op version, op "" for none) provided by an installed package? */
static bool provided(const struct js_dpkg_db *db, const char *name, const char *op, const char *ver)
{
	char prov[4096];
	size_t nl = strlen(name);
	for (size_t i = 0; i < db->n; i++) {
		const struct js_dpkg_pkg *p = &db->v[i];
		if (!js_dpkg_installed(p))
			continue;
		if (!strcmp(p->name, name) && (!op[0] || relation_holds(p->version, op, ver)))
			return true;
		if (js_dpkg_field(p, "Provides", prov, sizeof prov) <= 0)
			continue;
		for (char *t = prov; t && *t;) {
			char *comma = strchr(t, ',');
			if (comma)
				*comma = '\0';
			while (*t == ' ')
				t++;
			if (!strncmp(t, name, nl) && (t[nl] == '\0' || t[nl] == ' ' || t[nl] == ':' || t[nl] == '(')) {
				/* a versioned provide satisfies a versioned relation */
				char *paren = strchr(t + nl, '(');
				if (!op[0])
					return true;
				if (paren) {
					char pop[4], pver[JS_DPKG_VER_MAX];
					if (sscanf(paren + 1, " %3[<>=] %255[^) ]", pop, pver) == 2 &&
					    !strcmp(pop, "=") && relation_holds(pver, op, ver))
						return true;
				}
			}
			t = comma ? comma + 1 : NULL;
		}
	}
	return false;
}

static bool alternative_met(const struct js_dpkg_db *db, const char *s, const char *e)
{
	s = skip_ws(s, e);
	const char *ne = s;
	while (ne < e && *ne != ' ' && *ne != '\t' && *ne != '(' && *ne != ':')
		ne++;
	char name[JS_DPKG_NAME_MAX], op[4] = "", ver[JS_DPKG_VER_MAX] = "";
	if (ne == s || (size_t)(ne - s) >= sizeof name)
		return false;
	memcpy(name, s, (size_t)(ne - s));
	name[ne - s] = '\0';
	const char *paren = memchr(ne, '(', (size_t)(e - ne));
	if (paren) {
		const char *q = skip_ws(paren + 1, e);
		size_t k = 0;
		while (q < e && k < 2 && (*q == '<' || *q == '>' || *q == '='))
			op[k++] = *q++;
		op[k] = '\0';
		q = skip_ws(q, e);
		const char *ve = q;
		while (ve < e && *ve != ')' && *ve != ' ')
			ve++;
		if (!op[0] || ve == q || (size_t)(ve - q) >= sizeof ver)
			return false;
		memcpy(ver, q, (size_t)(ve - q));
		ver[ve - q] = '\0';
	}
	return provided(db, name, op, ver);
}

int js_dpkg_deps_met(const struct js_dpkg_db *db, const char *deps, char *missing, size_t mlen)
{
	const char *end = deps + strlen(deps);
	for (const char *g = deps; g < end;) {
		const char *ge = memchr(g, ',', (size_t)(end - g));
		if (!ge)
			ge = end;
		bool met = false;
		for (const char *a = g; a < ge && !met;) {
			const char *ae = memchr(a, '|', (size_t)(ge - a));
			if (!ae)
				ae = ge;
			met = alternative_met(db, a, ae);
			a = ae + 1;
		}
		if (!met) {
			const char *s = skip_ws(g, ge);
			const char *t = ge;
			while (t > s && (t[-1] == ' ' || t[-1] == '\t'))
				t--;
			if (mlen)
				snprintf(missing, mlen, "%.*s", (int)(t - s), s);
			return 0;
		}
		g = ge + 1;
	}
	return 1;
}
