/* SPDX-License-Identifier: MIT */
/* Shared between the loader (policy.c) and the value parsers (policy_value.c);
 * not part of the library's interface. */
#ifndef JSANDBOX_POLICY_INTERNAL_H
#define JSANDBOX_POLICY_INTERNAL_H

#include "policy.h"

/* iniparser 4.1 reads a line into a 1024-byte buffer and fails the whole
 * file on anything longer; stay comfortably below that so the strict
 * prescan, not iniparser, is the one that reports it. */
#define JS_CONF_LINE_MAX 1000

/* Fill p with the built-in value of every per-user key, origins "built-in". */
void js_policy_defaults(struct js_policy *p);

/* Parse `value` as the value of per-user key k and store it in p. On failure
 * p is unchanged, -EINVAL is returned and why holds the reason. */
int js_policy_apply(struct js_policy *p, enum js_key k, const char *value, char *why, size_t whylen);

/* What kind of thing key k takes, for messages: "size", "value", ... */
const char *js_key_noun(enum js_key k);

/* Per-user key by its name in the file; -ENOENT when there is none. */
int js_key_lookup(const char *name, enum js_key *out);

/* A user or group name as it may appear in [user:NAME] / [group:NAME]:
 * [a-z_][a-z0-9_.-]*[$]?, at most 32 characters. */
bool js_valid_account_name(const char *s, size_t len);

#endif
