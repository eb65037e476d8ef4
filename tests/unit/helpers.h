/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file helpers.h
 * @brief Shared fixtures for the cmocka unit tests: temporary famfs device files.
 */
#ifndef FAMFS_TEST_HELPERS_H
#define FAMFS_TEST_HELPERS_H

#include <stdint.h>

#include "famfs/fs.h"

#define TEST_MASTER_UUID "11111111-2222-4333-8444-555555555555"
#define TEST_CLIENT_UUID "99999999-2222-4333-8444-555555555555"
#define TEST_GIB	 (1024ULL * 1024 * 1024)

struct test_dev {
	char path[256];
};

/** Create a sparse device file of @p size bytes in $TMPDIR and mkfs it with @p log_len. */
void test_dev_make(struct test_dev *t, uint64_t size, uint64_t log_len);
/** Open the test device as the master (or as a client when @p client). */
struct famfs_fs *test_dev_open(const struct test_dev *t, int client);
/** Remove the file. */
void test_dev_remove(struct test_dev *t);

#endif
