/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file test_path.c
 * @brief Log relpath rules (famfs_relpath_check/split) and textual UUIDs
 *        (famfs_uuid_parse/format).
 *
 * Inputs are copied to exactly-sized heap buffers so that AddressSanitizer catches a read
 * past the terminating NUL.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "famfs/omf.h"
#include "famfs/path.h"

/* famfs_relpath_check on a heap copy of @path; the reason goes to @why. */
static int check(const char *path, char *why, size_t whylen)
{
	char *copy = strdup(path);
	int rc;

	assert_non_null(copy);
	why[0] = '\0';
	rc = famfs_relpath_check(copy, why, whylen);
	free(copy);
	return rc;
}

/* A path of @len bytes made of components "aaaa/" so that it is otherwise valid. */
static char *long_path(size_t len)
{
	char *p = malloc(len + 1);

	assert_non_null(p);
	for (size_t i = 0; i < len; i++)
		p[i] = (i % 5 == 4 && i + 1 < len) ? '/' : 'a';
	p[len] = '\0';
	return p;
}

static void famfs_relpath_check_accepts_valid(void **state)
{
	static const char *const ok[] = {
	    "a",     "a/b", "dir/sub/file.txt", ".hidden",   "a/.b", "...",
	    "a/..b", "b..", "with space",	"x/y/z/w/v",
	};
	char why[256];

	(void)state;
	for (size_t k = 0; k < sizeof(ok) / sizeof(ok[0]); k++) {
		print_message("path: '%s'\n", ok[k]);
		assert_int_equal(check(ok[k], why, sizeof(why)), 0);
	}
}

static void famfs_relpath_check_accepts_79_bytes(void **state)
{
	char *p = long_path(FAMFS_RELPATH_MAX);
	char why[256];
	char flat[FAMFS_RELPATH_MAX + 1];

	(void)state;
	assert_int_equal(strlen(p), 79);
	assert_int_equal(check(p, why, sizeof(why)), 0);
	free(p);
	memset(flat, 'f', FAMFS_RELPATH_MAX);
	flat[FAMFS_RELPATH_MAX] = '\0';
	assert_int_equal(check(flat, why, sizeof(why)), 0);
}

static void famfs_relpath_check_refuses_empty(void **state)
{
	char why[256];

	(void)state;
	assert_int_equal(check("", why, sizeof(why)), -EINVAL);
	assert_true(strlen(why) > 0);
	assert_non_null(strstr(why, "empty"));
	why[0] = '\0';
	assert_int_equal(famfs_relpath_check(NULL, why, sizeof(why)), -EINVAL);
	assert_true(strlen(why) > 0);
}

static void famfs_relpath_check_refuses_absolute(void **state)
{
	char why[256];

	(void)state;
	assert_int_equal(check("/abs", why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "absolute"));
	assert_int_equal(check("/", why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "absolute"));
	assert_int_equal(check("/a/b", why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "absolute"));
}

/* Linux's limits: a path of 4095 bytes, a name of 255; one more is refused. */
static void famfs_relpath_check_linux_limits(void **state)
{
	char why[256];
	char *p;

	(void)state;
	for (size_t len = FAMFS_RELPATH_MAX + 1; len <= FAMFS_PATH_MAX; len += 1001) {
		p = long_path(len);
		assert_int_equal(check(p, why, sizeof(why)), 0);
		free(p);
	}
	p = long_path(FAMFS_PATH_MAX);
	assert_int_equal(check(p, why, sizeof(why)), 0);
	free(p);
	p = long_path(FAMFS_PATH_MAX + 1);
	assert_int_equal(check(p, why, sizeof(why)), -ENAMETOOLONG);
	assert_non_null(strstr(why, "4095"));
	free(p);
	/* One component: 255 bytes fit, 256 do not. */
	{
		char flat[FAMFS_NAME_MAX + 2];

		memset(flat, 'f', FAMFS_NAME_MAX);
		flat[FAMFS_NAME_MAX] = '\0';
		assert_int_equal(check(flat, why, sizeof(why)), 0);
		flat[FAMFS_NAME_MAX] = 'f';
		flat[FAMFS_NAME_MAX + 1] = '\0';
		assert_int_equal(check(flat, why, sizeof(why)), -ENAMETOOLONG);
		assert_non_null(strstr(why, "255"));
	}
}

static void famfs_relpath_check_refuses_bad_components(void **state)
{
	static const char *const bad[] = {
	    "a//b", "a/./b", "../x", "a/",     "./a",  ".",  "..",
	    "a/..", "a/.",   "a/b/", "a/../b", "a///", "//",
	};
	char why[256];

	(void)state;
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		print_message("path: '%s'\n", bad[k]);
		assert_int_equal(check(bad[k], why, sizeof(why)), -EINVAL);
		assert_true(strlen(why) > 0);
		/* The reason quotes the path unless the path is absolute. */
		if (bad[k][0] != '/')
			assert_non_null(strstr(why, bad[k]));
	}
	assert_int_equal(check("a/", why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "trailing"));
	assert_int_equal(check("a/./b", why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "'.'"));
	assert_int_equal(check("../x", why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "'..'"));
	assert_int_equal(check("a//b", why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "empty"));
}

static void famfs_relpath_check_why_is_optional_and_bounded(void **state)
{
	char why[8];
	char *p = long_path(FAMFS_PATH_MAX + 10);

	(void)state;
	assert_int_equal(famfs_relpath_check("/abs", NULL, 0), -EINVAL);
	assert_int_equal(famfs_relpath_check(p, NULL, 0), -ENAMETOOLONG);
	assert_int_equal(famfs_relpath_check("a//b", NULL, 0), -EINVAL);
	assert_int_equal(famfs_relpath_check("a/b", NULL, 0), 0);

	memset(why, 'X', sizeof(why));
	assert_int_equal(famfs_relpath_check(p, why, sizeof(why)), -ENAMETOOLONG);
	assert_true(memchr(why, '\0', sizeof(why)) != NULL);
	assert_int_equal(strlen(why), sizeof(why) - 1);
	free(p);
}

static void famfs_relpath_split_parent_and_name(void **state)
{
	char parent[FAMFS_PATH_MAX + 1];
	const char *name;
	char *p;

	(void)state;
	memset(parent, 'X', sizeof(parent));
	p = strdup("file");
	name = famfs_relpath_split(p, parent);
	assert_string_equal(parent, "");
	assert_ptr_equal(name, p);
	free(p);

	p = strdup("a/b");
	name = famfs_relpath_split(p, parent);
	assert_string_equal(parent, "a");
	assert_string_equal(name, "b");
	assert_ptr_equal(name, p + 2);
	free(p);

	p = strdup("dir/sub/file.txt");
	name = famfs_relpath_split(p, parent);
	assert_string_equal(parent, "dir/sub");
	assert_string_equal(name, "file.txt");
	assert_ptr_equal(name, p + 8);
	free(p);

	/* 79 bytes with the last '/' at byte 77: a 77-byte parent, a 1-byte name. */
	p = long_path(FAMFS_RELPATH_MAX);
	p[77] = '/';
	p[76] = 'a';
	p[74] = '/';
	name = famfs_relpath_split(p, parent);
	assert_int_equal(strlen(parent), 77);
	assert_memory_equal(parent, p, 77);
	assert_string_equal(name, "a");
	assert_ptr_equal(name, p + 78);
	free(p);
}

static void famfs_uuid_format_parse_round_trip(void **state)
{
	uint8_t uuids[5][FAMFS_UUID_LEN];
	uint8_t back[FAMFS_UUID_LEN];
	char text[37];

	(void)state;
	memset(uuids[0], 0, FAMFS_UUID_LEN);
	memset(uuids[1], 0xff, FAMFS_UUID_LEN);
	for (int i = 0; i < FAMFS_UUID_LEN; i++) {
		uuids[2][i] = (uint8_t)i;
		uuids[3][i] = (uint8_t)(0xa1 + 17 * i);
		uuids[4][i] = (uint8_t)(0x80 >> (i % 8));
	}
	for (int k = 0; k < 5; k++) {
		memset(text, 'X', sizeof(text));
		famfs_uuid_format(uuids[k], text);
		assert_int_equal(strlen(text), 36);
		for (int i = 0; i < 36; i++) {
			if (i == 8 || i == 13 || i == 18 || i == 23)
				assert_int_equal(text[i], '-');
			else
				assert_non_null(strchr("0123456789abcdef", text[i]));
		}
		memset(back, 0x5a, sizeof(back));
		assert_int_equal(famfs_uuid_parse(text, back), 0);
		assert_memory_equal(back, uuids[k], FAMFS_UUID_LEN);
	}
	/* Textual order is byte order (no swapping). */
	famfs_uuid_format(uuids[2], text);
	assert_string_equal(text, "00010203-0405-0607-0809-0a0b0c0d0e0f");
}

static void famfs_uuid_parse_accepts_upper_case(void **state)
{
	static const uint8_t want[FAMFS_UUID_LEN] = {
	    0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6, 0x47, 0x08,
	    0x89, 0x9a, 0xab, 0xbc, 0xcd, 0xde, 0xef, 0xf0,
	};
	uint8_t u[FAMFS_UUID_LEN];
	char text[37];

	(void)state;
	assert_int_equal(famfs_uuid_parse("A1B2C3D4-E5F6-4708-899A-ABBCCDDEEFF0", u), 0);
	assert_memory_equal(u, want, FAMFS_UUID_LEN);
	assert_int_equal(famfs_uuid_parse("a1b2c3d4-e5f6-4708-899a-abbccddeeff0", u), 0);
	assert_memory_equal(u, want, FAMFS_UUID_LEN);
	famfs_uuid_format(u, text);
	assert_string_equal(text, "a1b2c3d4-e5f6-4708-899a-abbccddeeff0");
}

static void famfs_uuid_parse_rejects_malformed(void **state)
{
	static const char *const bad[] = {
	    "",
	    "a1b2c3d4",
	    "a1b2c3d4-e5f6-4708-899a-abbccddeeff",   /* 35 characters */
	    "a1b2c3d4-e5f6-4708-899a-abbccddeeff00", /* 37 characters */
	    "a1b2c3d4-e5f6-4708-899a-abbccddeeff0x", /* trailing garbage */
	    "a1b2c3d4e5f647-08-899a-abbccddeeff0",   /* dash misplaced */
	    "a1b2c3d4-e5f6-4708-899a_abbccddeeff0",  /* '_' for '-' */
	    "a1b2c3d4e5f64708899aabbccddeeff0",	     /* no dashes */
	    "g1b2c3d4-e5f6-4708-899a-abbccddeeff0",  /* not hex */
	    "a1b2c3d4-e5f6-4708-899a-abbccddeefg0",
	    "a1b2c3d-4e5f6-4708-899a-abbccddeeff0",
	    " a1b2c3d4-e5f6-4708-899a-abbccddeeff0",
	    "{a1b2c3d4-e5f6-4708-899a-abbccddeeff0}",
	    "a1b2c3d4-e5f6-4708-899a-abbccddeef f0",
	    "------------------------------------",
	};
	uint8_t u[FAMFS_UUID_LEN];

	(void)state;
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		char *copy = strdup(bad[k]);

		assert_non_null(copy);
		print_message("uuid: '%s'\n", bad[k]);
		assert_int_equal(famfs_uuid_parse(copy, u), -EINVAL);
		free(copy);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(famfs_relpath_check_accepts_valid),
	    cmocka_unit_test(famfs_relpath_check_accepts_79_bytes),
	    cmocka_unit_test(famfs_relpath_check_refuses_empty),
	    cmocka_unit_test(famfs_relpath_check_refuses_absolute),
	    cmocka_unit_test(famfs_relpath_check_linux_limits),
	    cmocka_unit_test(famfs_relpath_check_refuses_bad_components),
	    cmocka_unit_test(famfs_relpath_check_why_is_optional_and_bounded),
	    cmocka_unit_test(famfs_relpath_split_parent_and_name),
	    cmocka_unit_test(famfs_uuid_format_parse_round_trip),
	    cmocka_unit_test(famfs_uuid_parse_accepts_upper_case),
	    cmocka_unit_test(famfs_uuid_parse_rejects_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
