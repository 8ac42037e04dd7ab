/* SPDX-License-Identifier: MIT */
/* Messages with attached file descriptors over AF_UNIX sockets. */
#ifndef JSANDBOX_FDPASS_H
#define JSANDBOX_FDPASS_H

#include <stddef.h>

#define JS_FDPASS_MAX 20 /* jsandbox-root's OPEN answer: a file per cgroup hierarchy and a namespace */

/* Send len bytes and nfds descriptors as one message. */
int js_send_msg(int sock, const void *buf, size_t len, const int *fds, size_t nfds);
/* Receive one message; *nfds is in: capacity, out: received. Received fds
 * are O_CLOEXEC. Returns bytes received (0 on EOF) or -errno. */
long js_recv_msg(int sock, void *buf, size_t len, int *fds, size_t *nfds);

#endif
