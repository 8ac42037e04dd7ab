/* SPDX-License-Identifier: MIT */
/* The container's /dev/log relay (logrelay.c): what it makes of one
 * datagram, apart so that the unit tests can feed it anything. */
#ifndef JSANDBOX_LOGRELAY_H
#define JSANDBOX_LOGRELAY_H

#include <stdbool.h>
#include <stddef.h>

#define JSANDBOX_LOGRELAY_NAME "jsandbox-logrelay"

/* A datagram is read into JS_LOGRELAY_IN_MAX bytes (a longer one is cut);
 * the line sent on holds at most JS_LOGRELAY_TEXT_MAX bytes of its text,
 * then " [truncated]" when anything was cut. */
#define JS_LOGRELAY_IN_MAX    2048
#define JS_LOGRELAY_TEXT_MAX  1024
#define JS_LOGRELAY_LINE_MAX  (JS_LOGRELAY_TEXT_MAX + 16)
#define JS_LOGRELAY_IDENT_MAX 96

/* One datagram of n bytes (cut: it was longer) into out (a buffer of
 * JS_LOGRELAY_LINE_MAX bytes), one line of
 * printable ASCII: the "<PRI>" and an RFC 3164 timestamp taken off, every
 * byte below 0x20 or above 0x7e as '?' (a tab as a space), trailing NULs
 * and newlines dropped, at most JS_LOGRELAY_TEXT_MAX bytes of text.
 * Returns the priority to log it with: the sender's facility when it is
 * user, daemon, auth, authpriv or local0-7 (else user), its severity but
 * never above err (default: user.notice). */
int js_logrelay_clean(const char *in, size_t n, bool cut, char out[JS_LOGRELAY_LINE_MAX]);

/* A user name the relay puts into its tag: 1-64 bytes of [A-Za-z0-9._-],
 * not starting with '-' or '.'. */
bool js_logrelay_user_ok(const char *name);

#endif
