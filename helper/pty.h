/* SPDX-License-Identifier: MIT */
#ifndef JSANDBOX_PTY_H
#define JSANDBOX_PTY_H

#include <sys/types.h>

#include "jsutil.h"

/* Open a pty pair from the container's devpts (call after joining its
 * mount namespace). name gets "/dev/pts/N" as seen inside. */
int js_pty_open(int *master, int *slave, char *name, size_t len, struct js_err *err);

/* Copy termios and window size from one terminal to another. */
void js_pty_copy_settings(int from, int to);

/* Relay between stdin/stdout (sshd's pty) and master until the child
 * exits; the outer terminal is raw meanwhile and restored after. The
 * child's wait status in *status; -errno when it could not be waited for. */
int js_pty_relay(int master, pid_t child, int *status);

#endif
