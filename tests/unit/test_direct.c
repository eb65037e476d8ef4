// SPDX-License-Identifier: Apache-2.0
/**
 * @file test_direct.c
 * @brief Direct mappings (famfs/direct.h) of files that famfs-core wrote: the map the
 *        shared layer hands out, simple and interleaved files mapped and read byte for
 *        byte, a store through the mapping seen by famfs-core, the revalidation rule, and
 *        every refusal (bad map, another version, another famfs on the device, a device
 *        that cannot be opened, a read-only host asked for PROT_WRITE, packed pieces on a
 *        devdax device).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "famfs/direct.h"
#include "famfs/ll.h"
#include "helpers.h"

#define MIB (1024ULL * 1024)

struct fx {
	struct test_dev dev;
	struct famfs_fs *fs;
	struct famfs_ll *ll;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	test_dev_make(&f->dev, 4 * TEST_GIB, 8 << 20); /* interleaving: 1 GiB buckets */
	f->fs = test_dev_open(&f->dev, 0);
	assert_int_equal(famfs_ll_new(f->fs, false, &f->ll), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	famfs_ll_free(f->ll);
	famfs_fs_close(f->fs);
	test_dev_remove(&f->dev);
	free(f);
	return 0;
}

static void fill(uint8_t *p, size_t n, unsigned int seed)
{
	for (size_t k = 0; k < n; k++)
		p[k] = (uint8_t)((k * 131 + seed * 7 + (k >> 12)) & 0xff);
}

/* A file of @size bytes of pattern @seed written through the shared layer. */
static uint64_t make_file(struct fx *f, const char *name, size_t size, unsigned int seed)
{
	struct famfs_ll_new nw = {.mode = S_IFREG | 0644};
	uint8_t *buf = malloc(size);
	struct famfs_attr a;

	fill(buf, size, seed);
	assert_int_equal(
	    famfs_ll_create(f->ll, FAMFS_ROOT_INO, name, &nw, FAMFS_LL_EXCL, NULL, &a, NULL), 0);
	assert_int_equal(famfs_ll_write(f->ll, a.ino, 0, buf, size), (ssize_t)size);
	free(buf);
	return a.ino;
}

/* Every byte of the mapping equals what famfs-core reads. */
static void same_bytes(struct fx *f, uint64_t ino, const struct famfs_direct *d)
{
	size_t size = (size_t)d->map.dm_size;
	uint8_t *want = malloc(size), *got = malloc(size);

	assert_int_equal(famfs_ll_read(f->ll, ino, 0, want, size, 0, NULL), (ssize_t)size);
	assert_memory_equal(d->addr, want, size);
	/* pread: short at the end, nothing past it */
	assert_int_equal(famfs_direct_pread(d, got, size, 0), (ssize_t)size);
	assert_memory_equal(got, want, size);
	assert_int_equal(famfs_direct_pread(d, got, 100, size - 10), 10);
	assert_memory_equal(got, want + size - 10, 10);
	assert_int_equal(famfs_direct_pread(d, got, 100, size), 0);
	free(want);
	free(got);
}

static void test_simple_file(void **state)
{
	struct fx *f = *state;
	uint64_t ino = make_file(f, "simple", 10 * MIB + 12345, 1);
	struct famfs_direct_map m, m2;
	struct famfs_direct *d;
	uint8_t buf[64];

	assert_int_equal(famfs_ll_direct_map(f->ll, ino, &m), 0);
	assert_int_equal(m.dm_magic, FAMFS_DIRECT_MAGIC);
	assert_int_equal(m.dm_version, FAMFS_DIRECT_VERSION);
	assert_int_equal(m.dm_ino, ino);
	assert_int_equal(m.dm_size, 10 * MIB + 12345);
	assert_int_equal(m.dm_flags, 0); /* a file device, the master */
	assert_int_equal(m.dm_dev[0], '/');
	assert_int_equal(famfs_direct_check(&m), 0);
	assert_int_equal(famfs_direct_open(&m, PROT_READ | PROT_WRITE, &d), 0);
	assert_true(((uintptr_t)d->addr & (2 * MIB - 1)) == 0); /* 2 MiB aligned */
	same_bytes(f, ino, d);

	/* A store through the mapping, flushed, is what famfs-core reads. */
	memcpy(d->addr + 5 * MIB, "direct store", 12);
	famfs_direct_flush(d->addr + 5 * MIB, 12);
	assert_int_equal(famfs_ll_read(f->ll, ino, 5 * MIB, buf, 12, 0, NULL), 12);
	assert_memory_equal(buf, "direct store", 12);

	/* Unchanged file: the same map. Grown: another map (map it again). */
	assert_int_equal(famfs_ll_direct_map(f->ll, ino, &m2), 0);
	assert_true(famfs_direct_same(&m, &m2));
	assert_int_equal(famfs_ll_write(f->ll, ino, 12 * MIB, "x", 1), 1);
	assert_int_equal(famfs_ll_direct_map(f->ll, ino, &m2), 0);
	assert_false(famfs_direct_same(&m, &m2));
	assert_int_equal(m2.dm_size, 12 * MIB + 1);
	famfs_direct_close(d);
	assert_int_equal(famfs_direct_open(&m2, PROT_READ, &d), 0);
	same_bytes(f, ino, d);
	famfs_direct_close(d);

	/* Not a regular file; not there. */
	assert_int_equal(famfs_ll_direct_map(f->ll, FAMFS_ROOT_INO, &m2), -EISDIR);
	assert_int_equal(famfs_ll_direct_map(f->ll, 999999, &m2), -ESTALE);
}

static void test_interleaved_file(void **state)
{
	struct fx *f = *state;
	struct famfs_alloc_params ap = {.nbuckets = 4, .nstrips = 2, .chunk_size = 2 * MIB};
	size_t size = 20 * MIB + 777;
	uint8_t *buf = malloc(size);
	struct famfs_direct_map m;
	struct famfs_inode *i;
	struct famfs_direct *d;
	struct famfs_attr a;

	assert_int_equal(famfs_fs_lock(f->fs), 0);
	assert_int_equal(famfs_fs_creat(f->fs, "il", size, 0644, 0, 0, &ap, &i), 0);
	famfs_fs_unlock(f->fs);
	assert_int_equal(famfs_ll_resolve(f->ll, "il", &a), 0);
	fill(buf, size, 2);
	assert_int_equal(famfs_ll_write(f->ll, a.ino, 0, buf, size), (ssize_t)size);
	free(buf);
	assert_int_equal(famfs_ll_direct_map(f->ll, a.ino, &m), 0);
	assert_int_equal(m.dm_fmap.fmap_ext_type, FAMFS_EXT_INTERLEAVE);
	assert_int_equal(famfs_direct_open(&m, PROT_READ, &d), 0);
	same_bytes(f, a.ino, d); /* chunk by chunk, in the file's order */
	famfs_direct_close(d);
}

static void test_refusals(void **state)
{
	struct fx *f = *state;
	uint64_t big = make_file(f, "big", 4 * MIB, 3);
	uint64_t small = make_file(f, "small", 5000, 4);
	struct famfs_direct_map m, bad;
	struct famfs_direct *d = NULL;

	assert_int_equal(famfs_ll_direct_map(f->ll, big, &m), 0);

	bad = m;
	bad.dm_magic ^= 1;
	assert_int_equal(famfs_direct_check(&bad), -EBADMSG);
	assert_int_equal(famfs_direct_open(&bad, PROT_READ, &d), -EBADMSG);
	bad = m;
	bad.dm_version = FAMFS_DIRECT_VERSION + 1;
	assert_int_equal(famfs_direct_open(&bad, PROT_READ, &d), -EPROTO);
	assert_non_null(strstr(famfs_direct_error(), "version"));
	bad = m;
	bad.dm_size = 64 * MIB; /* more than its extents hold */
	assert_int_equal(famfs_direct_check(&bad), -EBADMSG);
	bad = m;
	bad.dm_dev[0] = 'x';
	assert_int_equal(famfs_direct_check(&bad), -EBADMSG);

	/* The device holds another famfs; the device is not there. */
	bad = m;
	bad.dm_fs_uuid[0] ^= 0xff;
	assert_int_equal(famfs_direct_open(&bad, PROT_READ, &d), -ENXIO);
	assert_non_null(strstr(famfs_direct_error(), "does not hold the famfs"));
	bad = m;
	snprintf(bad.dm_dev, sizeof(bad.dm_dev), "/nonexistent/famfs-device");
	assert_int_equal(famfs_direct_open(&bad, PROT_READ, &d), -ENOENT);
	assert_non_null(strstr(famfs_direct_error(), "cannot open the device /nonexistent"));

	/* A host that is not the master maps read-only. */
	bad = m;
	bad.dm_flags |= FAMFS_DM_RDONLY;
	assert_int_equal(famfs_direct_open(&bad, PROT_READ | PROT_WRITE, &d), -EROFS);
	assert_int_equal(famfs_direct_open(&bad, PROT_READ, &d), 0);
	famfs_direct_close(d);

	/* A packed file maps on a file device; devdax maps whole 2 MiB pages only. */
	assert_int_equal(famfs_ll_direct_map(f->ll, small, &m), 0);
	assert_int_equal(famfs_direct_open(&m, PROT_READ, &d), 0);
	same_bytes(f, small, d);
	famfs_direct_close(d);
	m.dm_flags |= FAMFS_DM_DAX;
	m.dm_align = 2 * MIB;
	assert_int_equal(famfs_direct_mappable(&m, m.dm_size), -EINVAL);
	assert_int_equal(famfs_direct_open(&m, PROT_READ, &d), -EINVAL);
	assert_non_null(strstr(famfs_direct_error(), "mapping granule"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_simple_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_interleaved_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
