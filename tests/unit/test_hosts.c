// SPDX-License-Identifier: Apache-2.0
/**
 * @file test_hosts.c
 * @brief The host table: a slot left by a process killed in the middle of registration
 *        (claimed, pid not yet written) is recognised as dead, does not hold back log
 *        compaction or space reuse, is claimed again, and fsck does not call it an error;
 *        a registration in progress is left alone. An interrupted compaction (the
 *        COMPACTING flag and a journal record): finished only by a holder of the appender
 *        lock, its journal's space zeroed; a damaged journal leaves a whole old log in
 *        place; a hostile journal record (far off, or not unit-aligned) is refused
 *        without a crash.
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
#include <zlib.h>

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

/* A master killed between storing the generation and storing the header's CRC. */
static void test_torn_header_is_repaired(void **state)
{
	struct test_dev t;
	struct famfs_fs *m, *c, *again;
	struct famfs_fsck_report r;
	struct famfs_inode *ino;
	uint64_t gen;

	(void)state;
	test_dev_make(&t, TEST_GIB, 8 << 20);
	m = test_dev_open(&t, 0);
	assert_int_equal(famfs_fs_set_no_upstream(m, true), 0);
	assert_int_equal(famfs_fs_create(m, "f", 2 << 20, 0644, 0, 0, NULL, &ino), 0);
	m->ht->ht_generation++; /* stored; the CRC is not */
	gen = m->ht->ht_generation;
	famfs_fs_close(m);

	/* A client host cannot vouch for it: it does not use the table. */
	c = test_dev_open(&t, 1);
	assert_null(c->ht);
	famfs_fs_close(c);
	/* The master's next open stores the CRC again; the no-upstream declaration, which
	 * it cannot vouch for, is withdrawn. */
	again = test_dev_open(&t, 0);
	assert_non_null(again->ht);
	assert_int_equal(again->ht->ht_generation, gen);
	assert_false(famfs_fs_no_upstream(again));
	assert_int_equal(famfs_fs_resolve(again, "f", &ino), 0);
	assert_int_equal(famfs_fs_compact(again) == 0 || famfs_fs_compact(again) == -ENOSPC, 1);
	assert_int_equal(famfs_fsck(famfs_fs_dev(again), &r), 0);
	assert_int_equal(r.nerrors, 0);
	famfs_fsck_report_free(&r);
	famfs_fs_close(again);
	test_dev_remove(&t);
}

struct jrec {
	uint64_t off, count, crc;
};

/* Plays a master killed right after its COMPACTING commit: the journal holds @n entries
 * of @entries (a "new log"), placed at the last 2 MiB of the device. */
static struct jrec interrupt_compaction(struct famfs_fs *m, const struct famfs_log_entry *entries,
					uint64_t n)
{
	struct jrec j = {.off = famfs_fs_dev(m)->size - (2 << 20), .count = n};
	uint8_t *base = famfs_fs_dev(m)->base;

	memcpy(base + j.off, entries, n * FAMFS_LOG_ENTRY_SIZE);
	j.crc = crc32(crc32(0L, Z_NULL, 0), base + j.off, (uInt)(n * FAMFS_LOG_ENTRY_SIZE));
	memcpy(m->ht->ht_pad2, &j, sizeof(j));
	m->ht->ht_flags |= FAMFS_HT_COMPACTING;
	m->ht->ht_generation++;
	fs_hosts_commit(m);
	return j;
}

static void test_interrupted_compaction(void **state)
{
	struct famfs_log_entry snap[8];
	struct famfs_fs *m, *o;
	struct famfs_inode *ino;
	struct test_dev t;
	struct jrec j;
	uint64_t n;
	const uint8_t *p;

	(void)state;
	test_dev_make(&t, TEST_GIB, 8 << 20);
	m = test_dev_open(&t, 0);
	assert_int_equal(famfs_fs_mkdir(m, "a", 0755, 0, 0, &ino), 0);
	n = famfs_fs_log(m)->lh_next_index;
	memcpy(snap, famfs_fs_log(m)->lh_entries, n * FAMFS_LOG_ENTRY_SIZE);
	assert_int_equal(famfs_fs_mkdir(m, "b", 0755, 0, 0, &ino), 0);

	/* The compacting process still holds the lock: an open leaves its work alone. */
	assert_int_equal(famfs_fs_lock(m), 0); /* m plays the compacting process */
	j = interrupt_compaction(m, snap, n);
	o = test_dev_open(&t, 0);
	assert_true(m->ht->ht_flags & FAMFS_HT_COMPACTING);
	famfs_fs_close(o);
	famfs_fs_unlock(m);

	/* Then the next open finishes it: the journal's log, the journal zeroed. */
	o = test_dev_open(&t, 0);
	assert_false(m->ht->ht_flags & FAMFS_HT_COMPACTING);
	assert_int_equal(famfs_fs_log(o)->lh_next_index, n);
	assert_int_equal(famfs_fs_resolve(o, "a", &ino), 0);
	assert_int_equal(famfs_fs_resolve(o, "b", &ino), -ENOENT);
	p = famfs_fs_dev(o)->base + j.off;
	for (uint64_t k = 0; k < n * FAMFS_LOG_ENTRY_SIZE; k++)
		assert_int_equal(p[k], 0);
	famfs_fs_close(o);

	/* A long-running master (m) finishes one that another process left, at its next
	 * change, and replays the new log. */
	assert_int_equal(famfs_fs_mkdir(m, "c", 0755, 0, 0, &ino), 0);
	interrupt_compaction(m, snap, n);
	assert_int_equal(famfs_fs_lock(m), 0);
	assert_false(m->ht->ht_flags & FAMFS_HT_COMPACTING);
	assert_int_equal(famfs_fs_resolve(m, "a", &ino), 0);
	assert_int_equal(famfs_fs_resolve(m, "c", &ino), -ENOENT);
	famfs_fs_unlock(m);

	/* A damaged journal: the old log is whole, so it stays and the namespace shows. */
	assert_int_equal(famfs_fs_mkdir(m, "c", 0755, 0, 0, &ino), 0);
	interrupt_compaction(m, snap, n);
	famfs_fs_dev(m)->base[famfs_fs_dev(m)->size - (2 << 20) + 100] ^= 0x40;
	o = test_dev_open(&t, 0);
	assert_false(m->ht->ht_flags & FAMFS_HT_COMPACTING);
	assert_int_equal(famfs_fs_resolve(o, "a", &ino), 0);
	assert_int_equal(famfs_fs_resolve(o, "c", &ino), 0);
	famfs_fs_close(o);

	/* A hostile record (an offset near 2^64): refused, no crash, the old log stays. */
	j = interrupt_compaction(m, snap, n);
	j.off = UINT64_MAX - 100;
	memcpy(m->ht->ht_pad2, &j, sizeof(j));
	o = test_dev_open(&t, 0);
	assert_false(m->ht->ht_flags & FAMFS_HT_COMPACTING);
	assert_int_equal(famfs_fs_resolve(o, "c", &ino), 0);
	famfs_fs_close(o);

	/* A valid journal at an offset that is not a whole unit (the device's last 544
	 * bytes): refused, as zeroing it by units would write past the device's end (found
	 * by fuzz_hosts). */
	j = interrupt_compaction(m, snap, 1);
	j.off = famfs_fs_dev(m)->size - FAMFS_LOG_ENTRY_SIZE;
	memcpy(famfs_fs_dev(m)->base + j.off, snap, FAMFS_LOG_ENTRY_SIZE);
	j.crc = crc32(crc32(0L, Z_NULL, 0), famfs_fs_dev(m)->base + j.off, FAMFS_LOG_ENTRY_SIZE);
	memcpy(m->ht->ht_pad2, &j, sizeof(j));
	o = test_dev_open(&t, 0);
	assert_false(m->ht->ht_flags & FAMFS_HT_COMPACTING);
	assert_int_equal(famfs_fs_resolve(o, "c", &ino), 0);
	famfs_fs_close(o);
	famfs_fs_close(m);
	test_dev_remove(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_killed_registration),
	    cmocka_unit_test(test_torn_header_is_repaired),
	    cmocka_unit_test(test_interrupted_compaction),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
