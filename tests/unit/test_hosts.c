// SPDX-License-Identifier: Apache-2.0
/**
 * @file test_hosts.c
 * @brief The host table: a slot left by a process killed in the middle of registration
 *        (claimed, pid not yet written) is recognised as dead, does not hold back log
 *        compaction or space reuse, is claimed again, and fsck does not call it an error;
 *        a registration in progress is left alone.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "famfs/fsck.h"
#include "famfs/omf_ext.h"
#include "fs_priv.h"
#include "helpers.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static struct famfs_ht_slot *slot(struct famfs_fs *fs, unsigned int i)
{
	return (struct famfs_ht_slot *)(fs->ht + 1) + i;
}

/* Plays a process of another host killed between claiming slot @i and writing its pid. */
static void half_register(struct famfs_fs *fs, unsigned int i, uint64_t claimed_ns)
{
	struct famfs_ht_slot *s = slot(fs, i);

	memset(s, 0, sizeof(*s));
	memset(s->hs_uuid, 0x5a, sizeof(s->hs_uuid));
	__atomic_store_n(&s->hs_key, claimed_ns | 1, __ATOMIC_RELEASE);
}

static bool slot_dead(struct famfs_fs *fs, unsigned int i)
{
	struct famfs_host_info hi[FAMFS_HT_SLOTS];
	int n = famfs_fs_hosts(fs, hi, FAMFS_HT_SLOTS);

	for (int k = 0; k < n; k++)
		if (hi[k].slot == i)
			return hi[k].dead;
	fail_msg("slot %u is not in use", i);
	return false;
}

static void test_killed_registration(void **state)
{
	struct test_dev t;
	struct famfs_fs *m, *again;
	struct famfs_inode *ino;
	struct famfs_fsck_report r;

	(void)state;
	test_dev_make(&t, TEST_GIB, 8 << 20);
	m = test_dev_open(&t, 0);
	assert_non_null(m->ht);
	assert_int_equal(famfs_fs_set_no_upstream(m, true), 0);

	/* A registration under way (claimed a moment ago) is alive... */
	half_register(m, 200, now_ns());
	assert_false(slot_dead(m, 200));
	/* ... one claimed two minutes ago never finished: dead. */
	half_register(m, 201, now_ns() - 120 * 1000000000ULL);
	assert_true(slot_dead(m, 201));

	/* It holds back neither compaction nor reuse of freed space. */
	slot(m, 200)->hs_key = 0;
	for (int k = 0; k < 20; k++)
		assert_int_equal(famfs_fs_create(m, "f", 2 << 20, 0644, 0, 0, NULL, &ino) ||
				     famfs_fs_remove(m, famfs_fs_ns(m)->root, "f"),
				 0);
	assert_int_equal(famfs_fs_compact(m), 0);
	assert_int_equal(famfs_fs_create(m, "g", 2 << 20, 0644, 0, 0, NULL, &ino), 0);
	assert_int_equal(famfs_fs_pending_bytes(m), 0);

	/* fsck: reused space behind a dead slot is no error. */
	half_register(m, 202, now_ns() - 120 * 1000000000ULL);
	assert_int_equal(famfs_fsck(famfs_fs_dev(m), &r), 0);
	famfs_fsck_report_free(&r);

	/* The next process to register may take it (or any free one): it is freed. */
	again = test_dev_open(&t, 0);
	assert_non_null(again->slot);
	assert_int_not_equal(again->slot->hs_pid, 0);
	famfs_fs_close(again);
	famfs_fs_close(m);
	test_dev_remove(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_killed_registration),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
