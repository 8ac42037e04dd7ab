/* SPDX-License-Identifier: MIT */
/* Subordinate id ranges and keep-id maps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "idmap.h"

static void test_subid_by_name(void **state)
{
	struct js_subid s;
	struct js_err e;
	const char *f = "bob:200000:65536\nalice:100000:65536\n";
	assert_int_equal(js_subid_find(f, "alice", 1000, 1000, &s, &e), 0);
	assert_int_equal(s.start, 100000);
	assert_int_equal(s.count, 65536);
}

static void test_subid_by_uid(void **state)
{
	struct js_subid s;
	struct js_err e;
	assert_int_equal(js_subid_find("1000:300000:70000\n", "alice", 1000, 1000, &s, &e), 0);
	assert_int_equal(s.start, 300000);
	assert_int_equal(s.count, 70000);
}

static void test_subid_missing(void **state)
{
	struct js_subid s;
	struct js_err e;
	assert_int_equal(js_subid_find("bob:200000:65536\n", "alice", 1000, 1000, &s, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "alice"));
	assert_int_equal(js_subid_find("", "alice", 1000, 1000, &s, &e), -ENOENT);
}

static void test_subid_too_small(void **state)
{
	struct js_subid s;
	struct js_err e;
	assert_int_equal(js_subid_find("alice:100000:1000\n", "alice", 1000, 1000, &s, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "65536"));
}

static void test_subid_overlap(void **state)
{
	struct js_subid s;
	struct js_err e;
	const char *f = "alice:100000:65536\nbob:150000:65536\n";
	assert_int_equal(js_subid_find(f, "alice", 1000, 1000, &s, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "bob"));
	/* adjacent is fine */
	assert_int_equal(js_subid_find("alice:100000:65536\nbob:165536:65536\n", "alice", 1000, 1000, &s, &e), 0);
}

static void test_subid_contains_own(void **state)
{
	struct js_subid s;
	struct js_err e;
	assert_int_equal(js_subid_find("alice:0:65536\n", "alice", 1000, 1000, &s, &e), -EINVAL);
}

static void test_subid_overflow_and_garbage(void **state)
{
	struct js_subid s;
	struct js_err e;
	assert_int_equal(js_subid_find("alice:4294967000:65536\n", "alice", 1000, 1000, &s, &e), -EINVAL);
	assert_int_equal(js_subid_find("alice:99999999999:65536\n", "alice", 1000, 1000, &s, &e), -ENOENT);
	assert_int_equal(js_subid_find("alice:-5:65536\n", "alice", 1000, 1000, &s, &e), -ENOENT);
	assert_int_equal(js_subid_find("alice:100000\n", "alice", 1000, 1000, &s, &e), -ENOENT);
	/* garbage lines do not hide a good one, comments and CRLF are fine */
	assert_int_equal(js_subid_find("#x\r\n::::\r\nalice:100000:65536\r\n", "alice", 1000, 1000, &s, &e), 0);
	assert_int_equal(s.start, 100000);
}

static void test_subid_first_entry_wins(void **state)
{
	struct js_subid s;
	struct js_err e;
	assert_int_equal(js_subid_find("alice:100000:65536\nalice:900000:65536\n", "alice", 1000, 1000, &s, &e), 0);
	assert_int_equal(s.start, 100000);
}

static void test_keepid_uid(void **state)
{
	struct js_subid sub = {100000, 65536};
	struct js_idmap m;
	struct js_err e;
	uint32_t ids[] = {1000};
	assert_int_equal(js_idmap_keepid(&sub, ids, 1, &m, &e), 0);
	assert_int_equal(m.n, 3);
	assert_int_equal(js_idmap_to_host(&m, 0), 100000);
	assert_int_equal(js_idmap_to_host(&m, 999), 100999);
	assert_int_equal(js_idmap_to_host(&m, 1000), 1000);
	assert_int_equal(js_idmap_to_host(&m, 1001), 101000);
	assert_int_equal(js_idmap_to_host(&m, 65536), 165535);
	assert_int_equal(js_idmap_to_host(&m, 65537), UINT32_MAX);
	char buf[256];
	assert_int_equal(js_idmap_format(&m, buf, sizeof buf), 0);
	assert_string_equal(buf, "0 100000 1000\n1000 1000 1\n1001 101000 64536\n");
}

static void test_keepid_groups(void **state)
{
	struct js_subid sub = {100000, 65536};
	struct js_idmap m;
	struct js_err e;
	uint32_t ids[] = {1000, 44, 27, 1000, 0};
	assert_int_equal(js_idmap_keepid(&sub, ids, 5, &m, &e), 0);
	assert_int_equal(js_idmap_to_host(&m, 0), 100000);
	assert_int_equal(js_idmap_to_host(&m, 27), 27);
	assert_int_equal(js_idmap_to_host(&m, 44), 44);
	assert_int_equal(js_idmap_to_host(&m, 1000), 1000);
	assert_int_equal(js_idmap_to_host(&m, 28), 100027);
	assert_int_equal(js_idmap_to_host(&m, 45), 100043);
	/* every subordinate id used exactly once, no inside overlap */
	uint64_t total = 0;
	for (size_t i = 0; i < m.n; i++)
		total += m.ext[i].count;
	assert_int_equal(total, 65536 + 3);
	for (size_t i = 0; i < m.n; i++)
		for (size_t j = i + 1; j < m.n; j++) {
			uint64_t a0 = m.ext[i].inside, a1 = a0 + m.ext[i].count;
			uint64_t b0 = m.ext[j].inside, b1 = b0 + m.ext[j].count;
			assert_false(a0 < b1 && b0 < a1);
			a0 = m.ext[i].outside, a1 = a0 + m.ext[i].count;
			b0 = m.ext[j].outside, b1 = b0 + m.ext[j].count;
			assert_false(a0 < b1 && b0 < a1);
		}
}

static void test_keepid_identity_in_range_refused(void **state)
{
	struct js_subid sub = {100000, 65536};
	struct js_idmap m;
	struct js_err e;
	uint32_t ids[] = {100005};
	assert_int_equal(js_idmap_keepid(&sub, ids, 1, &m, &e), -EINVAL);
}

static void test_keepid_high_uid(void **state)
{
	/* a uid above the subordinate count: the range fills 0..count-1 */
	struct js_subid sub = {100000, 65536};
	struct js_idmap m;
	struct js_err e;
	uint32_t ids[] = {70000};
	assert_int_equal(js_idmap_keepid(&sub, ids, 1, &m, &e), 0);
	assert_int_equal(js_idmap_to_host(&m, 65535), 165535);
	assert_int_equal(js_idmap_to_host(&m, 70000), 70000);
	assert_int_equal(js_idmap_to_host(&m, 65536), UINT32_MAX);
}

static void test_keepid_too_many(void **state)
{
	struct js_subid sub = {100000, 65536};
	struct js_idmap m;
	struct js_err e;
	uint32_t ids[JS_IDMAP_MAX_IDENTITY + 1];
	for (size_t i = 0; i < JS_ARRAY_SIZE(ids); i++)
		ids[i] = (uint32_t)(1000 + 2 * i);
	assert_int_equal(js_idmap_keepid(&sub, ids, JS_ARRAY_SIZE(ids), &m, &e), -E2BIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_subid_by_name),
	    cmocka_unit_test(test_subid_by_uid),
	    cmocka_unit_test(test_subid_missing),
	    cmocka_unit_test(test_subid_too_small),
	    cmocka_unit_test(test_subid_overlap),
	    cmocka_unit_test(test_subid_contains_own),
	    cmocka_unit_test(test_subid_overflow_and_garbage),
	    cmocka_unit_test(test_subid_first_entry_wins),
	    cmocka_unit_test(test_keepid_uid),
	    cmocka_unit_test(test_keepid_groups),
	    cmocka_unit_test(test_keepid_identity_in_range_refused),
	    cmocka_unit_test(test_keepid_high_uid),
	    cmocka_unit_test(test_keepid_too_many),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
