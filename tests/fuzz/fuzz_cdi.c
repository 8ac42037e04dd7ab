/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the CDI spec parser (lib/cdi.c, libyaml underneath),
 * on any bytes as a spec file under /etc/cdi would hold them, and the
 * lookups jsandbox makes on what it accepted. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cdi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct js_cdi_spec s;
	struct js_err err = {0};
	if (js_cdi_parse((const char *)data, size, "/etc/cdi/fuzz.yaml", &s, &err) < 0)
		return 0;
	/* What was accepted holds what the parser promises. */
	if (!js_cdi_kind_ok(s.kind, strlen(s.kind)) || !s.ndev)
		abort();
	struct js_cdi_set set = {.n = 1, .spec = &s};
	for (size_t i = 0; i < s.ndev; i++) {
		if (js_cdi_find(&set, s.kind, s.dev[i].name, NULL) != &s.dev[i])
			abort();
		const struct js_cdi_edits *e[] = {&s.edits, &s.dev[i].edits};
		for (size_t k = 0; k < 2; k++) {
			for (size_t m = 0; m < e[k]->nmounts; m++)
				if (!js_cdi_path_ok(e[k]->mount[m].host) || !js_cdi_path_ok(e[k]->mount[m].ctr))
					abort();
			for (size_t n = 0; n < e[k]->nnodes; n++)
				if (strncmp(e[k]->node[n].path, "/dev/", 5) != 0 || !e[k]->node[n].access)
					abort();
			for (size_t l = 0; l < e[k]->nlinks; l++)
				if (!js_cdi_path_ok(e[k]->link[l].link))
					abort();
		}
	}
	js_cdi_spec_free(&s);
	return 0;
}
