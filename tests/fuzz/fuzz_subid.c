/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the /etc/subuid and /etc/subgid parser (the part of
 * js_subid_lookup that reads the text), then the keep-id map built from
 * what it found and its rendering for /proc/PID/uid_map. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "idmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	/* by name and by numeric uid, as a login looks it up */
	static const struct {
		const char *name;
		uint32_t id;
	} who[] = {{"alice", 1000}, {"bob", 1001}, {"1000", 1000}, {"root", 0}};
	for (size_t i = 0; i < sizeof who / sizeof who[0]; i++) {
		struct js_subid sub;
		struct js_err err = {0};
		if (js_subid_find(text, who[i].name, who[i].id, who[i].id, &sub, &err) < 0)
			continue;
		uint32_t ids[] = {who[i].id, 100, 27, 44, 0, 4294967295u};
		struct js_idmap m;
		char buf[JS_IDMAP_MAX_EXTENTS * 36];
		if (js_idmap_keepid(&sub, ids, sizeof ids / sizeof ids[0], &m, &err) == 0) {
			js_idmap_format(&m, buf, sizeof buf);
			for (uint32_t in = 0; in < 70000; in += 997)
				(void)js_idmap_to_host(&m, in);
		}
	}
	free(text);
	return 0;
}
