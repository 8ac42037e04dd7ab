/* SPDX-License-Identifier: MIT */
#include "cdi.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "devnode.h"
#include "devrule.h"
#include "safefs.h"

/* ---- paths ---- */

bool js_cdi_path_ok(const char *p)
{
	size_t len = strlen(p);
	if (p[0] != '/' || len >= JS_CDI_PATH_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			return false;
	if (len == 1)
		return true;
	for (const char *c = p + 1;;) {
		const char *e = strchrnul(c, '/');
		size_t l = (size_t)(e - c);
		if (l == 0 || (l == 1 && c[0] == '.') || (l == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		if (!*e)
			return true;
		c = e + 1;
	}
}

/* ---- the document ---- */

struct doc {
	yaml_document_t d;
	const char *file;
	struct js_err *err;
	unsigned char *seen; /* per node: visited once (an alias would be twice) */
	size_t nnodes;
};

__attribute__((format(printf, 3, 4))) static int bad(struct doc *x, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[384];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return js_fail(x->err, EINVAL, "CDI spec %s: line %zu: %s", x->file, n ? n->start_mark.line + 1 : 0, msg);
}

/* The node of id, once only: libyaml resolves an alias to the node it
 * names, so a node reached twice is an alias (or a loop). Refused: a spec
 * has no use for them and they would multiply the work. */
static yaml_node_t *node_at(struct doc *x, int id, const char *what)
{
	yaml_node_t *n = yaml_document_get_node(&x->d, id);
	if (!n) {
		bad(x, NULL, "%s: no such node", what);
		return NULL;
	}
	size_t i = (size_t)(n - x->d.nodes.start);
	if (i >= x->nnodes || x->seen[i]) {
		bad(x, n, "%s: YAML aliases are not accepted", what);
		return NULL;
	}
	x->seen[i] = 1;
	return n;
}

/* A scalar's text into buf (NUL-terminated); no NUL inside. */
static int scalar(struct doc *x, yaml_node_t *n, const char *what, char *buf, size_t len)
{
	if (n->type != YAML_SCALAR_NODE)
		return bad(x, n, "%s: expected a string", what);
	size_t l = n->data.scalar.length;
	if (l >= len)
		return bad(x, n, "%s: longer than the limit", what);
	if (memchr(n->data.scalar.value, '\0', l))
		return bad(x, n, "%s: contains a NUL byte", what);
	memcpy(buf, n->data.scalar.value, l);
	buf[l] = '\0';
	return 0;
}

static bool key_is(yaml_node_t *k, const char *name)
{
	return k->type == YAML_SCALAR_NODE && k->data.scalar.length == strlen(name) &&
	       !memcmp(k->data.scalar.value, name, k->data.scalar.length);
}

/* Walk a mapping: for each pair, the key (a scalar) and value nodes. */
#define MAP_EACH(x, map, k, v, what)                                                                                   \
	for (yaml_node_pair_t *p_ = (map)->data.mapping.pairs.start; p_ < (map)->data.mapping.pairs.top; p_++)         \
		if (!((k) = node_at((x), p_->key, (what))) || !((v) = node_at((x), p_->value, (what))))                \
			return -EINVAL;                                                                                \
		else if ((k)->type != YAML_SCALAR_NODE)                                                                \
			return bad((x), (k), "%s: a key that is not a string", (what));                                \
		else

static int expect(struct doc *x, yaml_node_t *n, yaml_node_type_t t, const char *what)
{
	if (n->type == t)
		return 0;
	return bad(x, n, t == YAML_MAPPING_NODE ? "%s: expected a mapping" : "%s: expected a list", what);
}

static int grow(void **arr, size_t n, size_t size, size_t max, struct doc *x, yaml_node_t *at, const char *what)
{
	if (n >= max) {
		return bad(x, at, "%s: too many entries (at most %zu)", what, max);
	}
	void *p = realloc(*arr, (n + 1) * size);
	if (!p)
		return js_fail(x->err, ENOMEM, "out of memory reading CDI spec %s", x->file);
	*arr = p;
	memset((char *)p + n * size, 0, size);
	return 0;
}

static int parse_long_scalar(struct doc *x, yaml_node_t *n, const char *what, long max, long *out)
{
	char buf[32], *end;
	int r = scalar(x, n, what, buf, sizeof buf);
	if (r < 0)
		return r;
	errno = 0;
	long v = strtol(buf, &end, 10);
	if (!buf[0] || *end || errno || v < 0 || v > max)
		return bad(x, n, "%s: \"%s\" is not a number in range", what, buf);
	*out = v;
	return 0;
}

static int parse_node(struct doc *x, yaml_node_t *m, struct js_cdi_node *out)
{
	const char *what = "deviceNodes entry";
	int r = expect(x, m, YAML_MAPPING_NODE, what);
	if (r < 0)
		return r;
	char host[64] = "", type[8] = "c", perm[8] = "rw";
	out->path[0] = '\0';
	out->major = out->minor = -1;
	yaml_node_t *k, *v;
	MAP_EACH(x, m, k, v, what)
	{
		if (key_is(k, "path"))
			r = scalar(x, v, "deviceNodes path", out->path, sizeof out->path);
		else if (key_is(k, "hostPath"))
			r = scalar(x, v, "deviceNodes hostPath", host, sizeof host);
		else if (key_is(k, "type"))
			r = scalar(x, v, "deviceNodes type", type, sizeof type);
		else if (key_is(k, "permissions"))
			r = scalar(x, v, "deviceNodes permissions", perm, sizeof perm);
		else if (key_is(k, "major"))
			r = parse_long_scalar(x, v, "deviceNodes major", 4095, &out->major);
		else if (key_is(k, "minor"))
			r = parse_long_scalar(x, v, "deviceNodes minor", (1L << 20) - 1, &out->minor);
		else if (key_is(k, "fileMode") || key_is(k, "uid") || key_is(k, "gid"))
			r = v->type == YAML_SCALAR_NODE ? 0
							: bad(x, v, "deviceNodes: fileMode, uid and gid are numbers");
		else
			r = 0; /* a later field of the spec: not ours to apply */
		if (r < 0)
			return r;
	}
	if (!out->path[0])
		return bad(x, m, "%s: no path", what);
	if (!js_dev_path_ok(out->path))
		return bad(x, m, "deviceNodes path \"%s\" is not a plain path under /dev/", out->path);
	if (host[0] && strcmp(host, out->path) != 0)
		return bad(x, m, "deviceNodes path \"%s\": a hostPath other than the path is not supported", out->path);
	if (strcmp(type, "c") != 0)
		return bad(x, m, "deviceNodes path \"%s\": only character devices (type c) are granted", out->path);
	out->access = 0;
	for (const char *c = perm; *c; c++) {
		if (*c == 'r')
			out->access |= JS_DEV_READ;
		else if (*c == 'w')
			out->access |= JS_DEV_WRITE;
		else if (*c != 'm')
			return bad(x, m, "deviceNodes permissions \"%s\": only r, w and m", perm);
	}
	if (!out->access)
		out->access = JS_DEV_READ | JS_DEV_WRITE; /* "m" alone: the default, less mknod */
	return 0;
}

static int parse_mount(struct doc *x, yaml_node_t *m, struct js_cdi_mount *out)
{
	const char *what = "mounts entry";
	int r = expect(x, m, YAML_MAPPING_NODE, what);
	if (r < 0)
		return r;
	yaml_node_t *k, *v;
	MAP_EACH(x, m, k, v, what)
	{
		if (key_is(k, "hostPath"))
			r = scalar(x, v, "mounts hostPath", out->host, sizeof out->host);
		else if (key_is(k, "containerPath"))
			r = scalar(x, v, "mounts containerPath", out->ctr, sizeof out->ctr);
		else if (key_is(k, "options")) {
			/* Whatever they say, jsandbox binds read-only, nosuid,
			 * nodev; only their form is checked. */
			r = expect(x, v, YAML_SEQUENCE_NODE, "mounts options");
			for (yaml_node_item_t *i = v->data.sequence.items.start;
			     r >= 0 && i < v->data.sequence.items.top; i++) {
				char opt[64];
				yaml_node_t *o = node_at(x, *i, "mounts options");
				r = o ? scalar(x, o, "mounts options", opt, sizeof opt) : -EINVAL;
			}
		} else if (key_is(k, "type"))
			r = v->type == YAML_SCALAR_NODE ? 0 : bad(x, v, "%s: type is not a string", what);
		if (r < 0)
			return r;
	}
	if (!js_cdi_path_ok(out->host))
		return bad(x, m, "mounts hostPath \"%s\" is not an absolute path without . or .. components",
			   out->host);
	if (!js_cdi_path_ok(out->ctr))
		return bad(x, m, "mounts containerPath \"%s\" is not an absolute path without . or .. components",
			   out->ctr);
	return 0;
}

/* A hook: never run. NVIDIA's hooks (nvidia-ctk hook <name> / nvidia-cdi-hook
 * <name>) are recognised by the name among their arguments. */
static int parse_hook(struct doc *x, yaml_node_t *m, struct js_cdi_edits *e)
{
	const char *what = "hooks entry";
	int r = expect(x, m, YAML_MAPPING_NODE, what);
	if (r < 0)
		return r;
	char hookname[64] = "", path[JS_CDI_PATH_MAX] = "";
	yaml_node_t *args = NULL, *k, *v;
	MAP_EACH(x, m, k, v, what)
	{
		if (key_is(k, "hookName"))
			r = scalar(x, v, "hooks hookName", hookname, sizeof hookname);
		else if (key_is(k, "path"))
			r = scalar(x, v, "hooks path", path, sizeof path);
		else if (key_is(k, "args"))
			r = expect(x, (args = v), YAML_SEQUENCE_NODE, "hooks args");
		else if (key_is(k, "env"))
			r = expect(x, v, YAML_SEQUENCE_NODE, "hooks env");
		if (r < 0)
			return r;
	}
	static const char *const names[] = {"prestart",	      "createRuntime", "createContainer",
					    "startContainer", "poststart",     "poststop"};
	bool known = false;
	for (size_t i = 0; i < JS_ARRAY_SIZE(names) && !known; i++)
		known = !strcmp(hookname, names[i]);
	if (!known)
		return bad(x, m, "hooks hookName \"%s\" is not an OCI hook name", hookname);
	if (!js_cdi_path_ok(path))
		return bad(x, m, "hooks path \"%s\" is not an absolute path", path);
	if (!args)
		return 0;
	enum { NONE, LINKS, LDCACHE } sub = NONE;
	bool want_link = false;
	for (yaml_node_item_t *i = args->data.sequence.items.start; i < args->data.sequence.items.top; i++) {
		char a[2 * JS_CDI_PATH_MAX + 16];
		yaml_node_t *an = node_at(x, *i, "hooks args");
		if (!an || (r = scalar(x, an, "hooks args", a, sizeof a)) < 0)
			return -EINVAL;
		if (sub == NONE) {
			if (!strcmp(a, "create-symlinks"))
				sub = LINKS;
			else if (!strcmp(a, "update-ldcache"))
				sub = LDCACHE;
			continue;
		}
		if (sub != LINKS)
			continue;
		const char *val = NULL;
		if (want_link)
			val = a;
		else if (!strncmp(a, "--link=", 7))
			val = a + 7;
		want_link = !strcmp(a, "--link");
		if (!val)
			continue;
		const char *sep = strstr(val, "::");
		if (!sep)
			return bad(x, an, "create-symlinks --link \"%s\": expected TARGET::LINK", val);
		struct js_cdi_link l = {0};
		size_t tl = (size_t)(sep - val);
		if (tl == 0 || tl >= sizeof l.target || js_strlcpy(l.link, sep + 2, sizeof l.link) < 0)
			return bad(x, an, "create-symlinks --link \"%s\": too long or empty", val);
		memcpy(l.target, val, tl);
		l.target[tl] = '\0';
		bool ctl = false;
		for (const char *c = l.target; *c; c++)
			ctl = ctl || (unsigned char)*c < 0x20;
		if (ctl || !js_cdi_path_ok(l.link))
			return bad(x, an, "create-symlinks --link \"%s\": the link must be an absolute path", val);
		if ((r = grow((void **)&e->link, e->nlinks, sizeof *e->link, JS_CDI_LINKS_MAX, x, an, "links")) < 0)
			return r;
		e->link[e->nlinks++] = l;
	}
	if (sub == LDCACHE)
		e->ldcache = true;
	return 0;
}

static int parse_edits(struct doc *x, yaml_node_t *m, struct js_cdi_edits *e)
{
	int r = expect(x, m, YAML_MAPPING_NODE, "containerEdits");
	if (r < 0)
		return r;
	yaml_node_t *k, *v;
	MAP_EACH(x, m, k, v, "containerEdits")
	{
		int which = key_is(k, "deviceNodes") ? 1 : key_is(k, "mounts") ? 2 : key_is(k, "hooks") ? 3 : 0;
		if (!which)
			continue; /* env, additionalGids, intelRdt: not applied */
		char what[32];
		snprintf(what, sizeof what, "containerEdits %.*s", (int)k->data.scalar.length,
			 (const char *)k->data.scalar.value);
		if ((r = expect(x, v, YAML_SEQUENCE_NODE, what)) < 0)
			return r;
		for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top; i++) {
			yaml_node_t *n = node_at(x, *i, what);
			if (!n)
				return -EINVAL;
			if (which == 1) {
				if ((r = grow((void **)&e->node, e->nnodes, sizeof *e->node, JS_CDI_NODES_MAX, x, n,
					      what)) < 0 ||
				    (r = parse_node(x, n, &e->node[e->nnodes])) < 0)
					return r;
				e->nnodes++;
			} else if (which == 2) {
				if ((r = grow((void **)&e->mount, e->nmounts, sizeof *e->mount, JS_CDI_MOUNTS_MAX, x, n,
					      what)) < 0 ||
				    (r = parse_mount(x, n, &e->mount[e->nmounts])) < 0)
					return r;
				e->nmounts++;
			} else if ((r = parse_hook(x, n, e)) < 0) {
				return r;
			}
		}
	}
	return 0;
}

static int parse_device(struct doc *x, yaml_node_t *m, struct js_cdi_device *d)
{
	int r = expect(x, m, YAML_MAPPING_NODE, "devices entry");
	if (r < 0)
		return r;
	bool edits = false;
	yaml_node_t *k, *v;
	MAP_EACH(x, m, k, v, "devices entry")
	{
		if (key_is(k, "name")) {
			if ((r = scalar(x, v, "device name", d->name, sizeof d->name)) < 0)
				return r;
			if (!js_cdi_devname_ok(d->name, strlen(d->name)))
				return bad(x, v, "device name \"%s\" is not a CDI device name", d->name);
		} else if (key_is(k, "containerEdits")) {
			if ((r = parse_edits(x, v, &d->edits)) < 0)
				return r;
			edits = true;
		}
	}
	if (!d->name[0])
		return bad(x, m, "devices entry without a name");
	if (!edits)
		return bad(x, m, "device \"%s\" has no containerEdits", d->name);
	return 0;
}

static void edits_free(struct js_cdi_edits *e)
{
	free(e->node);
	free(e->mount);
	free(e->link);
	memset(e, 0, sizeof *e);
}

void js_cdi_spec_free(struct js_cdi_spec *s)
{
	edits_free(&s->edits);
	for (size_t i = 0; i < s->ndev; i++)
		edits_free(&s->dev[i].edits);
	free(s->dev);
	s->dev = NULL;
	s->ndev = 0;
}

static int parse_root(struct doc *x, struct js_cdi_spec *out)
{
	yaml_node_t *root = yaml_document_get_root_node(&x->d);
	if (!root)
		return js_fail(x->err, EINVAL, "CDI spec %s: empty", x->file);
	size_t ri = (size_t)(root - x->d.nodes.start);
	x->seen[ri] = 1;
	int r = expect(x, root, YAML_MAPPING_NODE, "the spec");
	if (r < 0)
		return r;
	char version[32] = "";
	bool devices = false;
	yaml_node_t *k, *v;
	MAP_EACH(x, root, k, v, "the spec")
	{
		if (key_is(k, "cdiVersion")) {
			r = scalar(x, v, "cdiVersion", version, sizeof version);
		} else if (key_is(k, "kind")) {
			if ((r = scalar(x, v, "kind", out->kind, sizeof out->kind)) >= 0 &&
			    !js_cdi_kind_ok(out->kind, strlen(out->kind)))
				r = bad(x, v, "kind \"%s\" is not vendor/class", out->kind);
		} else if (key_is(k, "containerEdits")) {
			r = parse_edits(x, v, &out->edits);
		} else if (key_is(k, "devices")) {
			devices = true;
			if ((r = expect(x, v, YAML_SEQUENCE_NODE, "devices")) < 0)
				return r;
			for (yaml_node_item_t *i = v->data.sequence.items.start;
			     r >= 0 && i < v->data.sequence.items.top; i++) {
				yaml_node_t *d = node_at(x, *i, "devices");
				if (!d)
					return -EINVAL;
				if ((r = grow((void **)&out->dev, out->ndev, sizeof *out->dev, JS_CDI_DEVICES_MAX, x, d,
					      "devices")) < 0)
					return r;
				out->ndev++;
				r = parse_device(x, d, &out->dev[out->ndev - 1]);
				for (size_t j = 0; r >= 0 && j + 1 < out->ndev; j++)
					if (!strcmp(out->dev[j].name, out->dev[out->ndev - 1].name))
						r = bad(x, d, "device \"%s\" is listed twice", out->dev[j].name);
			}
		}
		if (r < 0)
			return r;
	}
	if (!version[0] || version[0] < '0' || version[0] > '9')
		return bad(x, root, "no cdiVersion");
	if (!out->kind[0])
		return bad(x, root, "no kind");
	if (!devices || !out->ndev)
		return bad(x, root, "no devices");
	return 0;
}

int js_cdi_parse(const char *text, size_t len, const char *file, struct js_cdi_spec *out, struct js_err *err)
{
	memset(out, 0, sizeof *out);
	if (js_strlcpy(out->file, file, sizeof out->file) < 0)
		return js_fail(err, ENAMETOOLONG, "CDI spec name too long");
	if (len > JS_CDI_FILE_MAX)
		return js_fail(err, EFBIG, "CDI spec %s: larger than %u bytes", file, JS_CDI_FILE_MAX);
	yaml_parser_t p;
	if (!yaml_parser_initialize(&p))
		return js_fail(err, ENOMEM, "out of memory reading CDI spec %s", file);
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	struct doc x = {.file = file, .err = err};
	int r;
	if (!yaml_parser_load(&p, &x.d)) {
		r = js_fail(err, EINVAL, "CDI spec %s: line %zu: %s", file, p.problem_mark.line + 1,
			    p.problem ? p.problem : "not YAML");
		yaml_parser_delete(&p);
		return r;
	}
	/* One document only: a second one would be ignored, silently. */
	yaml_document_t next;
	bool more = false;
	if (yaml_parser_load(&p, &next)) {
		more = yaml_document_get_root_node(&next) != NULL;
		yaml_document_delete(&next);
	} else {
		more = true;
	}
	yaml_parser_delete(&p);
	if (more) {
		yaml_document_delete(&x.d);
		return js_fail(err, EINVAL, "CDI spec %s: more than one YAML document", file);
	}
	x.nnodes = (size_t)(x.d.nodes.top - x.d.nodes.start);
	x.seen = calloc(x.nnodes ? x.nnodes : 1, 1);
	r = x.seen ? parse_root(&x, out) : js_fail(err, ENOMEM, "out of memory");
	free(x.seen);
	yaml_document_delete(&x.d);
	if (r < 0)
		js_cdi_spec_free(out);
	return r < 0 ? r : 0;
}

/* ---- the host's specs ---- */

void js_cdi_set_free(struct js_cdi_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		js_cdi_spec_free(&s->spec[i]);
	free(s->spec);
	memset(s, 0, sizeof *s);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool spec_name(const char *n)
{
	size_t l = strlen(n);
	if (n[0] == '.' || !js_node_plain_name(n, l))
		return false;
	return (l > 5 && !strcmp(n + l - 5, ".yaml")) || (l > 4 && !strcmp(n + l - 4, ".yml")) ||
	       (l > 5 && !strcmp(n + l - 5, ".json"));
}

static int load_one(int rootfd, const char *rel, struct js_cdi_set *out, struct js_err *err)
{
	char file[JS_CDI_PATH_MAX];
	if (js_snprintf(file, sizeof file, "/%s", rel) < 0)
		return js_fail(err, ENAMETOOLONG, "CDI spec name too long");
	struct js_err e2;
	_cleanup_close_ int fd = js_open_rootowned_beneath(rootfd, rel, O_RDONLY, NULL, 0, &e2);
	if (fd < 0)
		return js_fail(err, -fd, "CDI spec %s: %s", file, e2.msg);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return js_failm(err, errno, "CDI spec %s", file);
	if (st.st_size > (off_t)JS_CDI_FILE_MAX)
		return js_fail(err, EFBIG, "CDI spec %s: larger than %u bytes", file, JS_CDI_FILE_MAX);
	_cleanup_free_ char *buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return js_fail(err, ENOMEM, "out of memory");
	ssize_t n = js_read_all(fd, buf, (size_t)st.st_size);
	if (n < 0)
		return js_failm(err, (int)-n, "cannot read CDI spec %s", file);
	struct js_cdi_spec *s = realloc(out->spec, (out->n + 1) * sizeof *s);
	if (!s)
		return js_fail(err, ENOMEM, "out of memory");
	out->spec = s;
	int r = js_cdi_parse(buf, (size_t)n, file, &out->spec[out->n], err);
	if (r < 0)
		return r;
	out->n++;
	/* Device names are unique per kind across the files. */
	const struct js_cdi_spec *ns = &out->spec[out->n - 1];
	for (size_t i = 0; i + 1 < out->n; i++) {
		const struct js_cdi_spec *os = &out->spec[i];
		if (strcmp(os->kind, ns->kind) != 0)
			continue;
		for (size_t a = 0; a < os->ndev; a++)
			for (size_t b = 0; b < ns->ndev; b++)
				if (!strcmp(os->dev[a].name, ns->dev[b].name))
					return js_fail(err, EEXIST, "CDI device %s=%s is defined in both %s and %s",
						       ns->kind, ns->dev[b].name, os->file, ns->file);
	}
	return 0;
}

int js_cdi_load(int rootfd, struct js_cdi_set *out, struct js_err *err)
{
	memset(out, 0, sizeof *out);
	static const char *const dirs[] = {"etc/cdi", "var/run/cdi"};
	size_t files = 0;
	int r = 0;
	for (size_t d = 0; d < JS_ARRAY_SIZE(dirs) && r >= 0; d++) {
		struct js_err e2;
		int dfd = js_open_rootowned_beneath(rootfd, dirs[d], O_RDONLY | O_DIRECTORY, NULL, 0, &e2);
		if (dfd == -ENOENT)
			continue;
		if (dfd < 0) {
			r = js_fail(err, -dfd, "CDI spec directory /%s: %s", dirs[d], e2.msg);
			break;
		}
		DIR *dir = fdopendir(dfd);
		if (!dir) {
			close(dfd);
			r = js_failm(err, errno, "cannot read /%s", dirs[d]);
			break;
		}
		char *names[JS_CDI_FILES_MAX];
		size_t nn = 0;
		struct dirent *de;
		while (r >= 0 && (de = readdir(dir))) {
			if (!spec_name(de->d_name))
				continue;
			if (files + nn == JS_CDI_FILES_MAX)
				r = js_fail(err, E2BIG, "more than %d CDI spec files", JS_CDI_FILES_MAX);
			else if (!(names[nn] = strdup(de->d_name)))
				r = js_fail(err, ENOMEM, "out of memory");
			else
				nn++;
		}
		closedir(dir);
		qsort(names, nn, sizeof names[0], cmp_str);
		for (size_t i = 0; i < nn; i++) {
			char rel[JS_CDI_PATH_MAX];
			if (r >= 0 && js_snprintf(rel, sizeof rel, "%s/%s", dirs[d], names[i]) < 0)
				r = js_fail(err, ENAMETOOLONG, "CDI spec name too long");
			if (r >= 0)
				r = load_one(rootfd, rel, out, err);
			free(names[i]);
		}
		files += nn;
	}
	if (r < 0)
		js_cdi_set_free(out);
	return r < 0 ? r : 0;
}

const struct js_cdi_device *js_cdi_find(const struct js_cdi_set *s, const char *kind, const char *name,
					const struct js_cdi_spec **spec)
{
	for (size_t i = 0; i < s->n; i++) {
		if (strcmp(s->spec[i].kind, kind) != 0)
			continue;
		for (size_t k = 0; k < s->spec[i].ndev; k++)
			if (!strcmp(s->spec[i].dev[k].name, name)) {
				if (spec)
					*spec = &s->spec[i];
				return &s->spec[i].dev[k];
			}
	}
	return NULL;
}

bool js_cdi_has_kind(const struct js_cdi_set *s, const char *kind)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->spec[i].kind, kind))
			return true;
	return false;
}
