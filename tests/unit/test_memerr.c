/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file test_memerr.c
 * @brief A memory error under the mapping (SIGBUS) turns into -EIO for the file it hit;
 *        every other file keeps working and the process lives on.
 *
 * The error is provoked as DESIGN.md describes: the device file is shrunk under the
 * mapping, so loads and stores past its new end raise SIGBUS.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "famfs/fs.h"
#include "famfs/io.h"
#include "famfs/msg.h"
#include "helpers.h"

static int messages;
static char last[512];

static void capture(enum famfs_msg_level level, const char *msg, void *arg)
{
	(void)arg;
	if (level == FAMFS_MSG_ERR && strstr(msg, "SIGBUS")) {
		messages++;
		strncpy(last, msg, sizeof(last) - 1);
	}
}

static void famfs_file_read_survives_sigbus(void **state)
{
	static uint8_t buf[1 << 20], pattern[1 << 20];
	struct famfs_inode *near, *far;
	struct test_dev t;
	struct famfs_fs *fs;
	(void)state;

	famfs_set_msg_fn(capture, NULL);
	famfs_io_guard_install();	  /* cmocka swaps signal handlers around each test */
	test_dev_make(&t, 1ULL << 30, 0); /* 1 GiB, contiguous first fit */
	fs = test_dev_open(&t, 0);
	memset(pattern, 0x5a, sizeof(pattern));
	assert_int_equal(famfs_fs_creat(fs, "near", sizeof(pattern), 0644, 0, 0, NULL, &near), 0);
	/* A file past the point where the device will end: its extent sits near 512 MiB. */
	assert_int_equal(famfs_fs_creat(fs, "filler", 500ULL << 20, 0644, 0, 0, NULL, NULL), 0);
	assert_int_equal(famfs_fs_creat(fs, "far", sizeof(pattern), 0644, 0, 0, NULL, &far), 0);
	assert_true(far->fmap.se[0].ext_offset > (400ULL << 20));
	assert_int_equal(famfs_file_write(fs, near, 0, pattern, sizeof(pattern)), sizeof(pattern));
	assert_int_equal(famfs_file_write(fs, far, 0, pattern, sizeof(pattern)), sizeof(pattern));

	/* The backing memory of 'far' goes away under the mapping. */
	assert_int_equal(truncate(t.path, 256ULL << 20), 0);

	messages = 0;
	assert_int_equal(famfs_file_read(fs, far, 0, buf, sizeof(buf), 0), -EIO);
	assert_int_equal(messages, 1);
	assert_non_null(strstr(last, "'far'"));
	/* Once hit, the file answers -EIO without touching its memory, logged once. */
	assert_int_equal(famfs_file_read(fs, far, 0, buf, sizeof(buf), FAMFS_IO_INVALIDATE), -EIO);
	assert_int_equal(famfs_file_write(fs, far, 0, pattern, 4096), -EIO);
	assert_int_equal(messages, 1);
	/* Every other file is still served. */
	assert_int_equal(famfs_file_read(fs, near, 0, buf, sizeof(buf), FAMFS_IO_INVALIDATE),
			 sizeof(buf));
	assert_memory_equal(buf, pattern, sizeof(buf));
	/* A write into a fresh file that the error never touched works too. */
	assert_int_equal(famfs_file_write(fs, near, 4096, pattern, 4096), 4096);

	famfs_fs_close(fs);
	test_dev_remove(&t);
	famfs_set_msg_fn(NULL, NULL);
}

static void famfs_file_write_survives_sigbus(void **state)
{
	static uint8_t pattern[1 << 16];
	struct famfs_inode *far;
	struct test_dev t;
	struct famfs_fs *fs;
	(void)state;

	famfs_set_msg_fn(capture, NULL);
	famfs_io_guard_install();
	test_dev_make(&t, 1ULL << 30, 0);
	fs = test_dev_open(&t, 0);
	assert_int_equal(famfs_fs_creat(fs, "filler", 500ULL << 20, 0644, 0, 0, NULL, NULL), 0);
	assert_int_equal(famfs_fs_creat(fs, "far", 1 << 20, 0644, 0, 0, NULL, &far), 0);
	assert_int_equal(truncate(t.path, 256ULL << 20), 0);
	messages = 0;
	assert_int_equal(famfs_file_write(fs, far, 0, pattern, sizeof(pattern)), -EIO);
	assert_int_equal(messages, 1);
	famfs_fs_close(fs);
	test_dev_remove(&t);
	famfs_set_msg_fn(NULL, NULL);
}

/* Growing into bad memory: -EIO, logged, the process lives and good space still serves. */
static void famfs_fs_resize_survives_sigbus(void **state)
{
	static uint8_t pattern[1 << 16];
	struct famfs_inode *grow, *tail, *near;
	struct test_dev t;
	struct famfs_fs *fs;
	(void)state;

	famfs_set_msg_fn(capture, NULL);
	famfs_io_guard_install();
	test_dev_make(&t, 1ULL << 30, 0);
	fs = test_dev_open(&t, 0);
	memset(pattern, 0x33, sizeof(pattern));
	assert_int_equal(famfs_fs_create(fs, "near", 1 << 20, 0644, 0, 0, NULL, &near), 0);
	assert_int_equal(famfs_fs_creat(fs, "filler", 500ULL << 20, 0644, 0, 0, NULL, NULL), 0);
	/* A file whose own (2 MiB) allocation lies past the cut, holding 4 KiB so far. */
	assert_int_equal(famfs_fs_create(fs, "tail", 4096, 0644, 0, 0, NULL, &tail), 0);
	/* An empty file: growing it allocates new space, past the cut too. */
	assert_int_equal(famfs_fs_create(fs, "grow", 0, 0644, 0, 0, NULL, &grow), 0);
	assert_int_equal(truncate(t.path, 256ULL << 20), 0);

	/* Growth inside the file's own allocation: its new bytes cannot be zeroed. */
	messages = 0;
	assert_int_equal(famfs_fs_resize(fs, tail, 1 << 20), -EIO);
	assert_int_equal(messages, 1);
	assert_non_null(strstr(last, "'tail'"));
	assert_int_equal(tail->size, 4096);
	assert_int_equal(famfs_file_write(fs, tail, 0, pattern, 16), -EIO);
	/* Growth into fresh space past the cut: -EIO, and that unit is not handed out again. */
	messages = 0;
	assert_int_equal(famfs_fs_resize(fs, grow, 1 << 20), -EIO);
	assert_int_equal(messages, 1);
	assert_non_null(strstr(last, "not handed out again"));
	assert_int_equal(grow->size, 0);
	/* The rest of the device still works. */
	assert_int_equal(famfs_fs_resize(fs, near, 2 << 20), 0);
	assert_int_equal(famfs_file_write(fs, near, 1 << 20, pattern, sizeof(pattern)),
			 sizeof(pattern));
	famfs_fs_close(fs);
	test_dev_remove(&t);
	famfs_set_msg_fn(NULL, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(famfs_file_read_survives_sigbus),
	    cmocka_unit_test(famfs_file_write_survives_sigbus),
	    cmocka_unit_test(famfs_fs_resize_survives_sigbus),
	};

	return cmocka_run_group_tests_name("memerr", tests, NULL, NULL);
}
