/* SPDX-License-Identifier: MIT */
/* What of a sandboxed user's PAM environment may reach the host side.
 *
 * sshd copies the PAM environment (pam_getenvlist) into the environment of
 * everything it runs for the session on the host before the login shell:
 * xauth for X11 forwarding and /etc/ssh/sshrc, through /bin/sh. Modules
 * such as pam_env with user_readenv=1 fill it from ~/.pam_environment, a
 * file the user writes from inside the container, so LD_PRELOAD, LD_AUDIT,
 * GCONV_PATH, BASH_ENV, ENV, PATH and the like there would run the user's
 * code on the host. For a sandboxed user only the locale survives, with a
 * plain value: a name such as en_US.UTF-8, never a path. */
#ifndef JSANDBOX_HOSTENV_H
#define JSANDBOX_HOSTENV_H

#include <stdbool.h>
#include <stddef.h>

#define JS_HOSTENV_VALUE_MAX 128

/* Is "NAME=VALUE" one a sandboxed user's host-side programs may get? */
bool js_hostenv_keep(const char *entry);

#endif
