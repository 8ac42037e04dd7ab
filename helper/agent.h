/* SPDX-License-Identifier: MIT */
#ifndef JSANDBOX_AGENT_H
#define JSANDBOX_AGENT_H

#include "jsutil.h"

/* Before joining the container: remember where the forwarded agent socket
 * (SSH_AUTH_SOCK, a host path) lives. Returns a directory fd or -errno. */
int js_agent_prepare(const char *host_sock, char *base, size_t baselen);

/* After joining the container's mount namespace: listen on a socket in the
 * container's /tmp and relay each connection to the host agent from a
 * process that stays outside the container's pid namespace. inside_path
 * gets the new SSH_AUTH_SOCK. */
int js_agent_relay_start(int hostdir, const char *base, char *inside_path, size_t len, struct js_err *err);

#endif
