// SPDX-License-Identifier: Apache-2.0
/**
 * @file test_prealloc.c
 * @brief Files filled before they are created (famfs_fs_prealloc, used by famfs-gw cp):
 *        the space is nobody else's while it is filled (another process of the host, a
 *        compaction in between), the file appears only at its create, in one entry, with
 *        the bytes already there; a preallocation given back (or never created) leaves
 *        nothing behind.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "famfs/dev.h"
#include "famfs/fsck.h"
#include "famfs/io.h"
#include "famfs/msg.h"
#include "famfs/ns.h"
#include "helpers.h"

#define MIB (1024ULL * 1024)

struct fx {
	struct test_dev dev;
	struct famfs_fs *a, *b; /* two processes of the master host */
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	test_dev_make(&f->dev, 1 * TEST_GIB, 8 << 20);
	f->a = test_dev_open(&f->dev, 0);
	f->b = test_dev_open(&f->dev, 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	famfs_fs_close(f->b);
	famfs_fs_close(f->a);
	test_dev_remove(&f->dev);
	free(f);
	return 0;
}

static bool overlap(const struct famfs_omf_fmap *x, const struct famfs_omf_fmap *y)
{
	for (uint32_t i = 0; i < x->fmap_count; i++)
		for (uint32_t j = 0; j < y->fmap_count; j++) {
			const struct famfs_omf_extent *p = &x->se[i], *q = &y->se[j];

			if (p->ext_offset < q->ext_offset + q->ext_len &&
			    q->ext_offset < p->ext_offset + p->ext_len)
				return true;
		}
	return false;
}

static struct famfs_inode *create(struct famfs_fs *fs, const char *path, uint64_t size)
{
	struct famfs_inode *i;

	assert_int_equal(famfs_fs_creat(fs, path, size, 0644, 0, 0, NULL, &i), 0);
	return i;
}

static void test_filled_then_created(void **state)
{
	struct fx *f = *state;
	struct famfs_alloc_params ap = {.pack = true};
	struct famfs_omf_fmap pre, small;
	struct famfs_inode *i;
	struct famfs_fsck_report r;
	uint8_t *base = famfs_fs_dev(f->a)->base;
	uint64_t size = 8 * MIB + 100;

	assert_int_equal(famfs_fs_prealloc(f->a, "big", size, &ap, &pre), 0);
	assert_int_equal(pre.fmap_ext_type, FAMFS_EXT_SIMPLE);
	/* Not there for anyone yet. */
	assert_int_equal(famfs_fs_resolve(f->a, "big", &i), -ENOENT);
	assert_true(famfs_fs_refresh(f->b) >= 0);
	assert_int_equal(famfs_fs_resolve(f->b, "big", &i), -ENOENT);
	/* Another process of the host allocates around it. */
	i = create(f->b, "other", 16 * MIB);
	assert_false(overlap(&pre, &i->fmap));
	/* So does this process after a compaction rebuilt its view and bitmap (removed
	 * files give the compaction something to drop). */
	assert_true(famfs_fs_refresh(f->a) >= 0);
	for (int k = 0; k < 8; k++) {
		struct famfs_inode *root;
		char name[16];

		snprintf(name, sizeof(name), "tmp%d", k);
		create(f->a, name, MIB);
		assert_int_equal(famfs_fs_resolve(f->a, "", &root), 0);
		assert_int_equal(famfs_fs_remove(f->a, root, name), 0);
	}
	assert_true(famfs_fs_refresh(f->b) >= 0); /* compaction waits for every host */
	assert_int_equal(famfs_fs_compact(f->a), 0);
	i = create(f->a, "after-compaction", 16 * MIB);
	assert_false(overlap(&pre, &i->fmap));
	/* A packed one too. */
	assert_int_equal(famfs_fs_prealloc(f->a, "small", 5000, &ap, &small), 0);
	assert_false(overlap(&pre, &small));

	/* Filled, then created: one entry, the bytes already in place. */
	for (uint64_t off = 0; off < size;) {
		uint64_t doff, contig, n;

		assert_int_equal(famfs_fmap_resolve(&pre, off, &doff, &contig), 0);
		n = size - off < contig ? size - off : contig;
		memset(base + doff, 0x5a, n);
		off += n;
	}
	assert_int_equal(famfs_fs_create_prealloc(f->a, "big", size, 0640, 7, 8, &pre, &i), 0);
	assert_int_equal(i->size, size);
	assert_memory_equal(&i->fmap, &pre, sizeof(pre));
	assert_int_equal(famfs_fs_create_prealloc(f->a, "small", 5000, 0600, 0, 0, &small, NULL),
			 0);
	assert_true(famfs_fs_refresh(f->b) >= 0);
	assert_int_equal(famfs_fs_resolve(f->b, "big", &i), 0);
	assert_memory_equal(&i->fmap, &pre, sizeof(pre));
	assert_int_equal(i->mode & 07777, 0640);
	{
		uint8_t buf[64];

		assert_int_equal(famfs_file_read(f->b, i, size - 64, buf, 64, 0), 64);
		for (int k = 0; k < 64; k++)
			assert_int_equal(buf[k], 0x5a);
	}
	/* Used up: a second create with it is refused. */
	assert_int_equal(famfs_fs_create_prealloc(f->a, "again", size, 0640, 0, 0, &pre, NULL),
			 -EINVAL);
	assert_int_equal(famfs_fsck(famfs_fs_dev(f->a), &r), 0);
	assert_int_equal(r.collisions, 0);
	assert_int_equal(r.leaked, 0);
	famfs_fsck_report_free(&r);
}

static void test_given_back(void **state)
{
	struct fx *f = *state;
	struct famfs_omf_fmap pre, again;
	struct famfs_fsck_report r;
	struct famfs_inode *i;

	create(f->a, "exists", MIB);
	assert_int_equal(famfs_fs_prealloc(f->a, "exists", MIB, NULL, &pre), -EEXIST);
	assert_int_equal(famfs_fs_prealloc(f->a, "no/such/dir", MIB, NULL, &pre), -ENOENT);
	assert_int_equal(famfs_fs_prealloc(f->a, "x", 0, NULL, &pre), -EINVAL);

	assert_int_equal(famfs_fs_prealloc(f->a, "x", 32 * MIB, NULL, &pre), 0);
	famfs_fs_prealloc_free(f->a, &pre);
	assert_int_equal(famfs_fs_resolve(f->a, "x", &i), -ENOENT);
	/* The space is free again: the next allocation may take it. */
	assert_int_equal(famfs_fs_prealloc(f->a, "x", 32 * MIB, NULL, &again), 0);
	assert_memory_equal(&again, &pre, sizeof(pre));
	/* A create whose name was taken meanwhile fails and gives the space back. */
	create(f->b, "x", MIB);
	assert_true(famfs_fs_refresh(f->a) >= 0);
	assert_int_equal(famfs_fs_create_prealloc(f->a, "x", 32 * MIB, 0644, 0, 0, &again, NULL),
			 -EEXIST);
	/* A process that dies holding one: the log never held it. */
	assert_int_equal(famfs_fs_prealloc(f->b, "y", 32 * MIB, NULL, &pre), 0);
	famfs_fs_close(f->b);
	f->b = test_dev_open(&f->dev, 0);
	assert_int_equal(famfs_fs_resolve(f->b, "y", &i), -ENOENT);
	assert_int_equal(famfs_fsck(famfs_fs_dev(f->a), &r), 0);
	assert_int_equal(r.collisions, 0);
	assert_int_equal(r.leaked, 0);
	assert_int_equal(r.live_files, 2);
	famfs_fsck_report_free(&r);
}

static void show(enum famfs_msg_level level, const char *msg, void *arg)
{
	(void)level;
	(void)arg;
	fprintf(stderr, "  famfs: %s\n", msg);
}

int main(void)
{
	famfs_set_msg_fn(show, NULL);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_filled_then_created, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_given_back, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
