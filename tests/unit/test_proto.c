/* SPDX-License-Identifier: MIT */
/* Upgrades: the root <-> init protocol's version (root/proto.h) and the
 * runtime state that records it (lib/state.c). A root side must never
 * misread an init of another version: it talks only to one whose protocol
 * it speaks, and reads no answer that is not exactly one of that version. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "proto.h"
#include "state.h"

static void compat_window(void **unused)
{
	assert_true(JS_PROTO_MIN <= JS_PROTO_VERSION);
	assert_true(JS_PROTO_UNVERSIONED < JS_PROTO_MIN);
	assert_int_equal(js_proto_compat(JS_PROTO_VERSION), JS_PROTO_OK);
	assert_int_equal(js_proto_compat(JS_PROTO_MIN), JS_PROTO_OK);
	assert_int_equal(js_proto_compat(JS_PROTO_MIN - 1), JS_PROTO_OLDER);
	assert_int_equal(js_proto_compat(JS_PROTO_UNVERSIONED), JS_PROTO_OLDER);
	assert_int_equal(js_proto_compat(0), JS_PROTO_OLDER);
	assert_int_equal(js_proto_compat(JS_PROTO_VERSION + 1), JS_PROTO_NEWER);
	assert_int_equal(js_proto_compat(UINT32_MAX), JS_PROTO_NEWER);
}

/* The control answer of the protocol before it had a version: what an
 * init started by such a jsandbox sends. */
struct ctl_rep_v1 {
	uint32_t magic;
	int32_t status;
	uint32_t sessions;
	uint32_t procs;
	uint8_t shutting_down;
	uint8_t linger;
};

static void ctl_answers(void **unused)
{
	struct js_ctl_rep ok = {.magic = JS_SETUP_MAGIC, .version = JS_PROTO_VERSION, .sessions = 2};
	assert_null(js_ctl_rep_check(&ok, sizeof ok, JS_PROTO_VERSION));
	/* Nothing, a short one, one byte too many (the caller reads one
	 * more than an answer). */
	assert_string_equal(js_ctl_rep_check(&ok, -1, JS_PROTO_VERSION), "no answer");
	assert_non_null(js_ctl_rep_check(&ok, 0, JS_PROTO_VERSION));
	assert_non_null(js_ctl_rep_check(&ok, (long)sizeof ok - 1, JS_PROTO_VERSION));
	assert_non_null(js_ctl_rep_check(&ok, (long)sizeof ok + 1, JS_PROTO_VERSION));
	/* Another magic, another version than asked. */
	struct js_ctl_rep m = ok;
	m.magic ^= 1;
	assert_string_equal(js_ctl_rep_check(&m, sizeof m, JS_PROTO_VERSION), "an answer with the wrong magic");
	m = ok;
	m.version = JS_PROTO_VERSION + 1;
	assert_string_equal(js_ctl_rep_check(&m, sizeof m, JS_PROTO_VERSION), "an answer in another protocol version");
	/* An unversioned init's answer, laid over ours: its size differs, so
	 * its status is never taken for our version field. */
	union {
		struct js_ctl_rep now;
		struct ctl_rep_v1 old;
	} u;
	memset(&u, 0, sizeof u);
	u.old = (struct ctl_rep_v1){.magic = JS_SETUP_MAGIC, .status = (int32_t)JS_PROTO_VERSION, .sessions = 1};
	assert_int_not_equal(sizeof(struct ctl_rep_v1), sizeof(struct js_ctl_rep));
	assert_string_equal(js_ctl_rep_check(&u.now, sizeof u.old, JS_PROTO_VERSION), "an answer of the wrong size");
}

static void ctl_requests(void **unused)
{
	struct js_ctl_req q = {.magic = JS_SETUP_MAGIC, .version = JS_PROTO_VERSION, .op = JS_CTL_STATUS};
	assert_null(js_ctl_req_check(&q, sizeof q));
	assert_non_null(js_ctl_req_check(&q, (long)sizeof q + 1));
	assert_non_null(js_ctl_req_check(&q, (long)sizeof q - 4));
	q.version = JS_PROTO_VERSION - 1;
	assert_string_equal(js_ctl_req_check(&q, sizeof q), "a request in another protocol version");
	q.version = JS_PROTO_VERSION;
	q.magic = 0;
	assert_string_equal(js_ctl_req_check(&q, sizeof q), "a request with the wrong magic");
}

static const char base[] = "pid=1234\nstart=99\nuserns=4026531837\nnetns=4026531840\nuid=1001\nuser=alice\n"
			   "image=default\n";

static int parse(const char *extra, struct js_state *s)
{
	char buf[1024];
	snprintf(buf, sizeof buf, "%s%s", base, extra);
	return js_state_parse(buf, s, NULL);
}

static void state_protocol(void **unused)
{
	struct js_state s;
	/* Written before the protocol had a version: no proto= line. */
	assert_int_equal(parse("version=0.0.9\n", &s), 0);
	assert_int_equal(s.proto, JS_PROTO_UNVERSIONED);
	assert_int_equal(js_proto_compat(s.proto), JS_PROTO_OLDER);
	assert_string_equal(s.version, "0.0.9");
	assert_int_equal(s.pid, 1234);
	/* This version's. */
	char line[64];
	snprintf(line, sizeof line, "version=0.1.0\nproto=%u\ngpus=0,2\n", JS_PROTO_VERSION);
	assert_int_equal(parse(line, &s), 0);
	assert_int_equal(s.proto, JS_PROTO_VERSION);
	assert_int_equal(js_proto_compat(s.proto), JS_PROTO_OK);
	assert_string_equal(s.gpus, "0,2");
	/* A newer one's. */
	snprintf(line, sizeof line, "proto=%u\n", JS_PROTO_VERSION + 1);
	assert_int_equal(parse(line, &s), 0);
	assert_int_equal(js_proto_compat(s.proto), JS_PROTO_NEWER);
	/* Unreadable values are no version at all (0), never a guess. */
	static const char *bad[] = {"proto=\n",	 "proto=x2\n",	     "proto=2x\n", "proto=-2\n",
				    "proto=0\n", "proto=99999999\n", "proto= 2\n", "proto=+2\n"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(parse(bad[i], &s), 0);
		assert_int_equal(s.proto, 0);
		assert_int_equal(js_proto_compat(s.proto), JS_PROTO_OLDER);
	}
	/* The fields that identify the init stay required. */
	char buf[256];
	snprintf(buf, sizeof buf, "start=99\nuserns=1\nuid=1001\nproto=%u\n", JS_PROTO_VERSION);
	assert_int_not_equal(js_state_parse(buf, &s, NULL), 0);
	/* A version string too long for the record is dropped, not cut. */
	assert_int_equal(parse("version=0123456789012345678901234567890123456789\n", &s), 0);
	assert_string_equal(s.version, "");
}

/* What js_state_write writes, js_state_parse reads back the same. */
static void state_round_trip(void **unused)
{
	char dir[] = "/tmp/jsb-test-proto.XXXXXX";
	assert_non_null(mkdtemp(dir));
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(dfd >= 0);
	struct js_state w = {.pid = 4321, .start = 7, .userns = 8, .netns = 9, .uid = 1002, .proto = JS_PROTO_VERSION};
	snprintf(w.user, sizeof w.user, "bob");
	snprintf(w.image, sizeof w.image, "cuda");
	snprintf(w.version, sizeof w.version, "0.1.0+up1");
	snprintf(w.gpus, sizeof w.gpus, "none");
	assert_int_equal(js_state_write(dfd, &w, NULL), 0);
	int fd = openat(dfd, "state", O_RDONLY);
	assert_true(fd >= 0);
	char buf[1024];
	ssize_t n = read(fd, buf, sizeof buf - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	close(fd);
	struct js_state r;
	assert_int_equal(js_state_parse(buf, &r, NULL), 0);
	assert_int_equal(r.pid, 4321);
	assert_int_equal(r.uid, 1002);
	assert_int_equal(r.proto, JS_PROTO_VERSION);
	assert_string_equal(r.version, "0.1.0+up1");
	assert_string_equal(r.image, "cuda");
	assert_string_equal(r.gpus, "none");
	unlinkat(dfd, "state", 0);
	close(dfd);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(compat_window),  cmocka_unit_test(ctl_answers),	  cmocka_unit_test(ctl_requests),
	    cmocka_unit_test(state_protocol), cmocka_unit_test(state_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
