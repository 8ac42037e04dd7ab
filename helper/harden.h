/* SPDX-License-Identifier: MIT */
#ifndef JSANDBOX_HARDEN_H
#define JSANDBOX_HARDEN_H

#include "jsutil.h"
#include "policy.h"

/* Last thing before exec in a session process inside the container: trim
 * the capability bounding set (libcap) and install the seccomp filter
 * (libseccomp). */
int js_harden_session(const struct js_policy *p, struct js_err *err);

/* For the container's init once it serves: the strictest filter with
 * no_new_privs, and no capability but CAP_KILL (bounding set included). */
int js_harden_init(struct js_err *err);

/* For the agent relay, once it listens: no capability (bounding set
 * included), no_new_privs, and an allow-list seccomp filter of what a
 * relay does (helper/harden.c). */
int js_harden_relay(struct js_err *err);

/* The capabilities kept in the bounding set, for docs and tests. */
extern const int js_kept_caps[];
extern const size_t js_nkept_caps;

#endif
