/* SPDX-License-Identifier: MIT */
/* The verdicts the security suite's probes (attack.c, caps_probe.c) print
 * and exit with: 0 when what they tried was refused, 1 when it went
 * through (the line says what), 2 when it could not be tried at all (a test
 * error, never a pass). */
#ifndef JSB_PROBE_H
#define JSB_PROBE_H

#include <errno.h>
#include <stdio.h>
#include <string.h>

static inline int refused(const char *what)
{
	printf("refused: %s: %s\n", what, strerror(errno));
	return 0;
}

static inline int worked(const char *what)
{
	printf("WORKED: %s\n", what);
	return 1;
}

/* 0 if r < 0 (refused), 1 otherwise */
static inline int judge(long r, const char *what)
{
	return r < 0 ? refused(what) : worked(what);
}

static inline int cantry(const char *what)
{
	printf("error: cannot attempt %s: %s\n", what, strerror(errno));
	return 2;
}

#endif
