/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file test_log.c
 * @brief Log append, incremental replay, torn and corrupt entries, a full log, roles.
 *
 * famfs_cache_flush is wrapped (a link seam) to prove that an append flushes only the
 * cache lines it wrote: the entry and the header's counters.
 */
/* WRAP: famfs_cache_flush */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "famfs/cache.h"
#include "famfs/fs.h"
#include "famfs/fsck.h"
#include "helpers.h"

/* ---- the flush seam ---- */
void __real_famfs_cache_flush(const void *addr, size_t len);
void __wrap_famfs_cache_flush(const void *addr, size_t len);

static struct {
	int record;
	int calls;
	size_t bytes;
	const void *addr[8];
	size_t len[8];
} flushes;

void __wrap_famfs_cache_flush(const void *addr, size_t len)
{
	if (flushes.record) {
		if (flushes.calls < 8) {
			flushes.addr[flushes.calls] = addr;
			flushes.len[flushes.calls] = len;
		}
		flushes.calls++;
		flushes.bytes += len;
	}
	__real_famfs_cache_flush(addr, len);
}

static int setup(void **state)
{
	static struct test_dev t;

	test_dev_make(&t, 4 * TEST_GIB, 0);
	*state = &t;
	return 0;
}

static int teardown(void **state)
{
	test_dev_remove(*state);
	return 0;
}

static struct famfs_log_header *raw_log(struct famfs_fs *fs)
{
	return (struct famfs_log_header *)(famfs_fs_dev(fs)->base + FAMFS_LOG_OFFSET);
}

static void famfs_fs_append_flushes_only_written_lines(void **state)
{
	struct famfs_fs *fs = test_dev_open(*state, 0);
	struct famfs_log_header *lh = raw_log(fs);

	memset(&flushes, 0, sizeof(flushes));
	flushes.record = 1;
	assert_int_equal(famfs_fs_mkdir(fs, "d", 0755, 0, 0, NULL), 0);
	flushes.record = 0;
	/* In the log: the entry, then the header's counters. Elsewhere: only this process's
	 * host-table line (its published replay position), 64 bytes at a time. */
	{
		const uint8_t *base = famfs_fs_dev(fs)->base;
		int in_log = 0;
		size_t log_bytes = 0;

		assert_true(flushes.calls <= 8);
		for (int i = 0; i < flushes.calls; i++) {
			const uint8_t *a = flushes.addr[i];

			if (a >= (const uint8_t *)lh && a < (const uint8_t *)lh + 0x800000) {
				in_log++;
				log_bytes += flushes.len[i];
				continue;
			}
			assert_true(a >= base + 0x1000 && a < base + 0x200000);
			assert_int_equal(flushes.len[i], 64);
		}
		assert_int_equal(in_log, 2);
		assert_true(log_bytes <= FAMFS_LOG_ENTRY_SIZE + 64);
	}
	{
		int e = -1, h = -1;

		for (int i = 0; i < flushes.calls; i++) {
			if (flushes.addr[i] == (const void *)&lh->lh_entries[0])
				e = i;
			if (flushes.addr[i] == (const void *)&lh->lh_next_seqnum)
				h = i;
		}
		assert_true(e >= 0 && h > e); /* the entry reaches memory before the header */
		assert_int_equal(flushes.len[e], FAMFS_LOG_ENTRY_SIZE);
	}
	famfs_fs_close(fs);
}

static void famfs_fs_refresh_is_incremental(void **state)
{
	struct famfs_fs *m = test_dev_open(*state, 0);
	struct famfs_fs *c = test_dev_open(*state, 1);
	uint64_t base = raw_log(m)->lh_next_index;
	struct famfs_inode *ino;

	assert_int_equal(famfs_fs_role(c), FAMFS_ROLE_CLIENT);
	assert_int_equal(famfs_fs_mkdir(m, "a", 0750, 1, 2, NULL), 0);
	assert_int_equal(famfs_fs_creat(m, "a/f", 5000, 0640, 3, 4, NULL, NULL), 0);
	assert_int_equal(famfs_fs_refresh(c), 2);
	assert_int_equal(famfs_fs_refresh(c), 0);
	assert_int_equal(famfs_fs_resolve(c, "a/f", &ino), 0);
	assert_int_equal(ino->size, 5000);
	assert_int_equal(ino->mode, S_IFREG | 0640);
	assert_int_equal(ino->uid, 3);
	assert_int_equal(ino->ino, FAMFS_INO_OF_INDEX(base + 1));
	assert_int_equal(famfs_fs_creat(m, "a/g", 1, 0600, 0, 0, NULL, NULL), 0);
	assert_int_equal(famfs_fs_refresh(c), 1);
	assert_int_equal(famfs_fs_stats(c)->entries, raw_log(m)->lh_next_index);
	assert_int_equal(famfs_fs_stats(c)->files, 2);
	famfs_fs_close(c);
	famfs_fs_close(m);
}

static void famfs_fs_append_refused_on_client(void **state)
{
	struct famfs_fs *c = test_dev_open(*state, 1);

	assert_int_equal(famfs_fs_mkdir(c, "nope", 0755, 0, 0, NULL), -EROFS);
	assert_int_equal(famfs_fs_creat(c, "nope", 10, 0644, 0, 0, NULL, NULL), -EROFS);
	famfs_fs_close(c);
}

static void famfs_fs_refresh_waits_for_torn_entry(void **state)
{
	struct famfs_fs *m = test_dev_open(*state, 0);
	struct famfs_fs *c = test_dev_open(*state, 1);
	struct famfs_log_header *lh = raw_log(m);
	struct famfs_log_entry saved;
	uint64_t idx;

	assert_int_equal(famfs_fs_mkdir(m, "torn", 0755, 0, 0, NULL), 0);
	idx = lh->lh_next_index - 1;
	/* The header says the entry exists but its bytes have not all arrived. */
	saved = lh->lh_entries[idx];
	memset((uint8_t *)&lh->lh_entries[idx] + 200, 0xff, 300);
	assert_int_equal(famfs_fs_refresh(c), -EBADMSG);
	assert_non_null(famfs_fs_replay_stall(c));
	assert_non_null(strstr(famfs_fs_replay_stall(c), "CRC"));
	assert_int_equal(famfs_fs_stats(c)->entries, idx);
	/* The rest of the entry arrives: replay goes on from where it stopped. */
	lh->lh_entries[idx] = saved;
	assert_int_equal(famfs_fs_refresh(c), 1);
	assert_null(famfs_fs_replay_stall(c));
	famfs_fs_close(c);
	famfs_fs_close(m);
}

static void famfs_fs_open_stops_replay_at_corrupt_entry(void **state)
{
	struct famfs_fs *m = test_dev_open(*state, 0);
	struct famfs_log_header *lh = raw_log(m);
	struct famfs_fsck_report r;
	struct famfs_inode *ino;
	uint64_t first = lh->lh_next_index;
	struct famfs_fs *again;

	assert_int_equal(famfs_fs_mkdir(m, "c1", 0755, 0, 0, NULL), 0);
	assert_int_equal(famfs_fs_mkdir(m, "c2", 0755, 0, 0, NULL), 0);
	lh->lh_entries[first].le_mkdir.md_relpath[0] = 'X'; /* flip a byte: CRC fails */
	again = test_dev_open(*state, 0);
	assert_int_equal(famfs_fs_stats(again)->entries, first);
	assert_int_equal(famfs_fs_resolve(again, "c2", &ino), -ENOENT);
	/* Appends are refused while the log has an invalid entry. */
	assert_int_equal(famfs_fs_mkdir(again, "c3", 0755, 0, 0, NULL), -EBADMSG);
	assert_true(famfs_fsck(famfs_fs_dev(again), &r) >= 1);
	assert_int_equal(r.bad_entries, 1);
	famfs_fsck_report_free(&r);
	lh->lh_entries[first].le_mkdir.md_relpath[0] = 'c';
	famfs_fs_close(again);
	famfs_fs_close(m);
}

static void famfs_fs_append_counters_must_agree(void **state)
{
	struct famfs_fs *m = test_dev_open(*state, 0);
	struct famfs_log_header *lh = raw_log(m);

	lh->lh_next_seqnum++;
	assert_int_equal(famfs_fs_mkdir(m, "ctr", 0755, 0, 0, NULL), -EUCLEAN);
	lh->lh_next_seqnum--;
	assert_int_equal(famfs_fs_mkdir(m, "ctr", 0755, 0, 0, NULL), 0);
	famfs_fs_close(m);
}

static void famfs_fs_lock_serialises_two_handles(void **state)
{
	struct famfs_fs *a = test_dev_open(*state, 0);
	struct famfs_fs *b = test_dev_open(*state, 0);
	struct famfs_inode *ia, *ib;

	/* b's allocation must see a's, because taking the lock replays first. */
	assert_int_equal(famfs_fs_creat(a, "la", 3 << 20, 0644, 0, 0, NULL, &ia), 0);
	assert_int_equal(famfs_fs_creat(b, "lb", 3 << 20, 0644, 0, 0, NULL, &ib), 0);
	assert_true(ib->fmap.se[0].ext_offset >= ia->fmap.se[0].ext_offset + (4 << 20) ||
		    ib->fmap.se[0].ext_offset + (4 << 20) <= ia->fmap.se[0].ext_offset);
	assert_int_equal(famfs_fs_creat(b, "la", 1, 0644, 0, 0, NULL, NULL), -EEXIST);
	famfs_fs_close(a);
	famfs_fs_close(b);
}

static void famfs_fs_creat_refuses_bad_input(void **state)
{
	struct famfs_fs *m = test_dev_open(*state, 0);
	char longp[300];

	memset(longp, 'x', 256); /* a name over Linux's 255 */
	longp[256] = '\0';
	assert_int_equal(famfs_fs_creat(m, longp, 1, 0644, 0, 0, NULL, NULL), -ENAMETOOLONG);
	assert_int_equal(famfs_fs_creat(m, "/abs", 1, 0644, 0, 0, NULL, NULL), -EINVAL);
	assert_int_equal(famfs_fs_creat(m, "", 1, 0644, 0, 0, NULL, NULL), -EINVAL);
	assert_int_equal(famfs_fs_creat(m, "zero", 0, 0644, 0, 0, NULL, NULL), -EINVAL);
	assert_int_equal(famfs_fs_creat(m, "nodir/x", 1, 0644, 0, 0, NULL, NULL), -ENOENT);
	assert_int_equal(famfs_fs_creat(m, "file1", 1, 0644, 0, 0, NULL, NULL), 0);
	assert_int_equal(famfs_fs_creat(m, "file1/x", 1, 0644, 0, 0, NULL, NULL), -ENOTDIR);
	assert_int_equal(famfs_fs_creat(m, "huge", 8 * TEST_GIB, 0644, 0, 0, NULL, NULL), -ENOSPC);
	famfs_fs_close(m);
}

static void famfs_fs_mkdir_p_logs_each_parent(void **state)
{
	struct famfs_fs *m = test_dev_open(*state, 0);
	uint64_t before = raw_log(m)->lh_next_index;
	struct famfs_inode *ino;

	assert_int_equal(famfs_fs_mkdir_p(m, "p1/p2/p3", 0700, 0, 0, &ino), 0);
	assert_int_equal(raw_log(m)->lh_next_index, before + 3);
	assert_int_equal(ino->mode, S_IFDIR | 0700);
	assert_int_equal(famfs_fs_mkdir_p(m, "p1/p2/p3", 0700, 0, 0, NULL), 0);
	assert_int_equal(raw_log(m)->lh_next_index, before + 3);
	famfs_fs_close(m);
}

/* Run last: fills the log of the shared device. */
static void famfs_fs_append_full_log_loses_nothing(void **state)
{
	struct famfs_fs *m = test_dev_open(*state, 0);
	struct famfs_log_header *lh = raw_log(m);
	uint64_t slots = lh->lh_last_index + 1, n = 0;
	struct famfs_fs *again;
	struct famfs_fsck_report r;
	char name[32];
	int rc = 0;

	assert_int_equal(famfs_fs_lock(m), 0);
	while (lh->lh_next_index < slots) {
		snprintf(name, sizeof(name), "full%llu", (unsigned long long)n++);
		rc = famfs_fs_mkdir(m, name, 0755, 0, 0, NULL);
		assert_int_equal(rc, 0);
	}
	assert_int_equal(famfs_fs_mkdir(m, "one-too-many", 0755, 0, 0, NULL), -ENOSPC);
	assert_int_equal(famfs_fs_creat(m, "one-too-many", 1, 0644, 0, 0, NULL, NULL), -ENOSPC);
	famfs_fs_unlock(m);
	/* Everything committed is still there, and the log is consistent. */
	again = test_dev_open(*state, 1);
	assert_int_equal(famfs_fs_stats(again)->entries, slots);
	assert_int_equal(famfs_fsck(famfs_fs_dev(again), &r), 0);
	assert_int_equal(r.log_used, slots);
	famfs_fsck_report_free(&r);
	famfs_fs_close(again);
	famfs_fs_close(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(famfs_fs_append_flushes_only_written_lines),
	    cmocka_unit_test(famfs_fs_refresh_is_incremental),
	    cmocka_unit_test(famfs_fs_append_refused_on_client),
	    cmocka_unit_test(famfs_fs_refresh_waits_for_torn_entry),
	    cmocka_unit_test(famfs_fs_append_counters_must_agree),
	    cmocka_unit_test(famfs_fs_lock_serialises_two_handles),
	    cmocka_unit_test(famfs_fs_creat_refuses_bad_input),
	    cmocka_unit_test(famfs_fs_mkdir_p_logs_each_parent),
	    cmocka_unit_test(famfs_fs_open_stops_replay_at_corrupt_entry),
	    cmocka_unit_test(famfs_fs_append_full_log_loses_nothing),
	};

	return cmocka_run_group_tests_name("log", tests, setup, teardown);
}
