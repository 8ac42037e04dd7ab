/* SPDX-License-Identifier: MIT */
#ifndef JSANDBOX_AGENT_H
#define JSANDBOX_AGENT_H

#include <sys/types.h>

#include "jsutil.h"

/* The forwarded agent socket, checked before the helper joins the
 * container. */
struct js_agent {
	int dir;	/* O_PATH fd of the socket's directory */
	char base[108]; /* the socket's name in it */
	dev_t dev;	/* the socket's inode */
	ino_t ino;
	pid_t listener; /* the process listening on it: the session's sshd */
};

/* SSH_AUTH_SOCK is the environment's, and the user can set that (AcceptEnv,
 * authorized_keys environment=, ~/.ssh/environment, pam_env's
 * ~/.pam_environment): it is trusted only when it names the socket sshd
 * made for this connection. The path is resolved without following any
 * link; its directory must be the user's and private (sshd makes it 0700),
 * the entry a socket owned by the user and named as sshd names it,
 * agent.<pid>, where pid is an ancestor of this process running as the
 * user (the session's sshd, our parent) -- all before anything connects;
 * then the process listening on it, as the kernel reports it (SO_PEERCRED),
 * must be that very process, running as the user. Returns 0 and fills a,
 * or -errno with the reason in err. */
int js_agent_prepare(const char *host_sock, struct js_agent *a, struct js_err *err);

/* After joining the container's mount namespace: listen on a socket in the
 * container's /tmp and relay each connection to the host agent from a
 * process that stays outside the container's pid namespace, holds no
 * capability and runs under an allow-list seccomp filter. Each connection
 * is checked again (the same inode, the same listening process). inside_path
 * gets the new SSH_AUTH_SOCK. */
int js_agent_relay_start(const struct js_agent *a, char *inside_path, size_t len, struct js_err *err);

#endif
