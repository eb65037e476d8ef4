/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file helpers.c
 * @brief Temporary famfs device files for the unit tests.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "famfs/dev.h"
#include "helpers.h"

void test_dev_make(struct test_dev *t, uint64_t size, uint64_t log_len)
{
	const char *dir = getenv("TMPDIR");
	struct famfs_mkfs_opts mo = {.log_len = log_len, .system_uuid = TEST_MASTER_UUID};
	struct famfs_dev *dev;
	int fd;

	snprintf(t->path, sizeof(t->path), "%s/famfs-unit-XXXXXX", dir ? dir : "/tmp");
	fd = mkstemp(t->path);
	assert_true(fd >= 0);
	close(fd);
	unlink(t->path);
	assert_int_equal(famfs_dev_create_file(t->path, size), 0);
	assert_int_equal(famfs_dev_open(t->path, NULL, &dev), 0);
	assert_int_equal(famfs_mkfs(dev, &mo), 0);
	famfs_dev_close(dev);
}

struct famfs_fs *test_dev_open(const struct test_dev *t, int client)
{
	struct famfs_fs_opts o = {.system_uuid = client ? TEST_CLIENT_UUID : TEST_MASTER_UUID};
	struct famfs_fs *fs = NULL;

	assert_int_equal(famfs_fs_open(t->path, &o, &fs), 0);
	return fs;
}

void test_dev_remove(struct test_dev *t)
{
	unlink(t->path);
}
