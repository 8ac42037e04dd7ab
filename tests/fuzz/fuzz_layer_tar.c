/* SPDX-License-Identifier: MIT */
/* libFuzzer target: jsandboxctl layer import's reading of an archive
 * (ctl/layer_tar.c lt_import, with libarchive's tar reader) into a fresh
 * directory, as whoever runs it (the map's inside 0 is that user). After
 * each input the directory's parent must hold nothing but it: an entry
 * that escaped aborts. */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "layer_tar.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char top[] = "/tmp/jsb-fuzz-layer.XXXXXX";

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st, (void)flag, (void)f;
	(void)remove(p);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool made;
	if (!made && !(made = mkdtemp(top) != NULL))
		abort();
	char dst[sizeof top + 8];
	snprintf(dst, sizeof dst, "%s/d", top);
	if (mkdir(dst, 0755) < 0)
		abort();
	int in = memfd_create("archive", MFD_CLOEXEC);
	if (in < 0 || write(in, data, size) != (ssize_t)size || lseek(in, 0, SEEK_SET) != 0)
		abort();
	int up = open(dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (up < 0)
		abort();
	struct lt_maps m;
	memset(&m, 0, sizeof m);
	m.uid.n = m.gid.n = 1;
	m.uid.ext[0] = (struct js_extent){0, (uint32_t)getuid(), 1};
	m.gid.ext[0] = (struct js_extent){0, (uint32_t)getgid(), 1};
	struct lt_stats st;
	struct js_err err = {0};
	(void)lt_import(up, in, &m, &st, &err);
	close(up);
	close(in);
	nftw(dst, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	/* nothing escaped next to dst */
	DIR *d = opendir(top);
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			abort();
	if (!d)
		abort();
	closedir(d);
	return 0;
}
