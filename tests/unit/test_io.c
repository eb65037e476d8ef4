/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file test_io.c
 * @brief File offset to device offset translation (simple and interleaved extent maps)
 *        and byte-range I/O on real device files.
 *
 * Interleaved maps must follow the kernel's chunk rule (famfs-format.md section 6):
 *   chunk = o / C, stripe = chunk / N, strip = chunk % N,
 *   dev = strips[strip].offset + stripe * C + o % C.
 * The device tests check that rule independently: they pread() the device file at the
 * offsets this file computes itself, not at the ones famfs_fmap_resolve() returns.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "famfs/fs.h"
#include "famfs/io.h"
#include "famfs/ns.h"
#include "helpers.h"

#define MIB	     (1024ULL * 1024)
#define GIB	     (1024ULL * MIB)
#define CHUNK	     (2 * MIB)
#define STRIPED_SIZE (20 * MIB + 4097) /* the worked example of format section 7.3 */

static const struct famfs_alloc_params striped = {
    .nbuckets = 4,
    .nstrips = 3,
    .chunk_size = CHUNK,
    .seed = 20240601,
};

/* ---- extent maps built by hand ---- */

static struct famfs_omf_fmap simple_map(void)
{
	struct famfs_omf_fmap f;

	memset(&f, 0, sizeof(f));
	f.fmap_ext_type = FAMFS_EXT_SIMPLE;
	f.fmap_count = 3;
	f.se[0] = (struct famfs_omf_extent){0, 0x1000000, 0x200000};
	f.se[1] = (struct famfs_omf_extent){0, 0x4000000, 0x400000};
	f.se[2] = (struct famfs_omf_extent){0, 0x2000000, 0x200000};
	return f;
}

/* The reference image's striped file. */
static struct famfs_omf_fmap reference_striped_map(void)
{
	struct famfs_omf_fmap f;

	memset(&f, 0, sizeof(f));
	f.fmap_ext_type = FAMFS_EXT_INTERLEAVE;
	f.fmap_count = 1;
	f.ie[0].ie_nstrips = 3;
	f.ie[0].ie_chunk_size = 0x200000;
	f.ie[0].ie_strips[0] = (struct famfs_omf_extent){0, 0x1000000, 0x800000};
	f.ie[0].ie_strips[1] = (struct famfs_omf_extent){0, 0x40000000, 0x800000};
	f.ie[0].ie_strips[2] = (struct famfs_omf_extent){0, 0x80000000, 0x800000};
	return f;
}

/* The test's own translation: the kernel chunk rule, or the in-order extent walk. */
static uint64_t expect_dev_off(const struct famfs_omf_fmap *f, uint64_t o, uint64_t *contig)
{
	if (f->fmap_ext_type == FAMFS_EXT_INTERLEAVE) {
		const struct famfs_omf_interleave *ie = &f->ie[0];
		uint64_t c = ie->ie_chunk_size, n = ie->ie_nstrips;
		uint64_t chunk = o / c, stripe = chunk / n, strip = chunk % n;

		*contig = c - o % c;
		return ie->ie_strips[strip].ext_offset + stripe * c + o % c;
	}
	for (uint32_t k = 0; k < f->fmap_count; k++) {
		if (o < f->se[k].ext_len) {
			*contig = f->se[k].ext_len - o;
			return f->se[k].ext_offset + o;
		}
		o -= f->se[k].ext_len;
	}
	fail_msg("offset outside the map");
	return 0;
}

static void resolve_ok(const struct famfs_omf_fmap *f, uint64_t o, uint64_t dev, uint64_t contig)
{
	uint64_t d = 0, c = 0;

	assert_int_equal(famfs_fmap_resolve(f, o, &d, &c), 0);
	assert_int_equal(d, dev);
	assert_int_equal(c, contig);
}

static void famfs_fmap_resolve_walks_simple_extents(void **state)
{
	struct famfs_omf_fmap f = simple_map();

	(void)state;
	resolve_ok(&f, 0, 0x1000000, 0x200000);
	resolve_ok(&f, 0x1234, 0x1001234, 0x200000 - 0x1234);
	resolve_ok(&f, 0x1fffff, 0x11fffff, 1);
	/* Second extent: file offsets [2 MiB, 6 MiB). */
	resolve_ok(&f, 0x200000, 0x4000000, 0x400000);
	resolve_ok(&f, 0x300001, 0x4100001, 0x2fffff);
	resolve_ok(&f, 0x5fffff, 0x43fffff, 1);
	/* Third extent, lower on the device than the second: order is list order. */
	resolve_ok(&f, 0x600000, 0x2000000, 0x200000);
	resolve_ok(&f, 0x7fffff, 0x21fffff, 1);
}

static void famfs_fmap_resolve_simple_past_allocation_erange(void **state)
{
	struct famfs_omf_fmap f = simple_map();
	uint64_t d, c;

	(void)state;
	assert_int_equal(famfs_fmap_resolve(&f, 0x800000, &d, &c), -ERANGE);
	assert_int_equal(famfs_fmap_resolve(&f, 0x800001, &d, &c), -ERANGE);
	assert_int_equal(famfs_fmap_resolve(&f, UINT64_MAX, &d, &c), -ERANGE);
	f.fmap_count = 1;
	assert_int_equal(famfs_fmap_resolve(&f, 0x200000, &d, &c), -ERANGE);
	f.fmap_count = 0;
	assert_int_equal(famfs_fmap_resolve(&f, 0, &d, &c), -ERANGE);
}

static void famfs_fmap_resolve_interleaved_chunk_rule(void **state)
{
	struct famfs_omf_fmap f = reference_striped_map();

	(void)state;
	/* chunk 0: strip 0, stripe 0 */
	resolve_ok(&f, 0, 0x1000000, 0x200000);
	resolve_ok(&f, 0x1234, 0x1001234, 0x200000 - 0x1234);
	resolve_ok(&f, 0x1fffff, 0x11fffff, 1);
	/* chunk 1: strip 1, stripe 0 */
	resolve_ok(&f, 0x200000, 0x40000000, 0x200000);
	/* chunk 2: strip 2, stripe 0 */
	resolve_ok(&f, 0x400005, 0x80000005, 0x1ffffb);
	/* chunk 3: strip 0, stripe 1 */
	resolve_ok(&f, 0x600000, 0x1200000, 0x200000);
	/* chunk 4: strip 1, stripe 1, last byte of the chunk */
	resolve_ok(&f, 0x9fffff, 0x403fffff, 1);
	/* chunk 8: strip 2, stripe 2 */
	resolve_ok(&f, 0x1000000 + 0x10, 0x80400010, 0x200000 - 0x10);
	/* chunk 10 holds EOF of the 20 MiB + 4097 file: strip 1, stripe 3 */
	resolve_ok(&f, 20 * MIB + 4096, 0x40601000, 0x200000 - 0x1000);
	/* chunk 11, the last one: strip 2, stripe 3 */
	resolve_ok(&f, 0x1600000, 0x80600000, 0x200000);
	resolve_ok(&f, 0x17fffff, 0x807fffff, 1);

	/* Every 4 KiB page and a few odd offsets against the rule computed here. */
	for (uint64_t o = 0; o < 24 * MIB; o += 4096 + (o % 7)) {
		uint64_t c, want = expect_dev_off(&f, o, &c);

		resolve_ok(&f, o, want, c);
	}
}

static void famfs_fmap_resolve_interleaved_past_allocation_erange(void **state)
{
	struct famfs_omf_fmap f = reference_striped_map();
	uint64_t d, c;

	(void)state;
	/* 3 strips of 4 chunks: 24 MiB addressable; chunk 12 would be stripe 4. */
	assert_int_equal(famfs_fmap_resolve(&f, 24 * MIB, &d, &c), -ERANGE);
	assert_int_equal(famfs_fmap_resolve(&f, 26 * MIB + 5, &d, &c), -ERANGE);
	assert_int_equal(famfs_fmap_resolve(&f, 1ULL << 50, &d, &c), -ERANGE);
	/* A shorter strip 2 ends that strip early: chunk 8 (stripe 2 of strip 2) is gone. */
	f.ie[0].ie_strips[2].ext_len = 0x400000;
	assert_int_equal(famfs_fmap_resolve(&f, 0x1000000, &d, &c), -ERANGE);
	resolve_ok(&f, 0xc00000, 0x1400000, 0x200000); /* chunk 6: strip 0, stripe 2 */
}

static void famfs_fmap_resolve_bad_map_einval(void **state)
{
	struct famfs_omf_fmap f;
	uint64_t d, c;

	(void)state;
	f = reference_striped_map();
	f.ie[0].ie_nstrips = 0;
	assert_int_equal(famfs_fmap_resolve(&f, 0, &d, &c), -EINVAL);
	f = reference_striped_map();
	f.ie[0].ie_nstrips = FAMFS_MAX_STRIPS + 1;
	assert_int_equal(famfs_fmap_resolve(&f, 0, &d, &c), -EINVAL);
	f = reference_striped_map();
	f.ie[0].ie_chunk_size = 0;
	assert_int_equal(famfs_fmap_resolve(&f, 0, &d, &c), -EINVAL);
	f = reference_striped_map();
	f.fmap_count = 0;
	assert_int_equal(famfs_fmap_resolve(&f, 0, &d, &c), -EINVAL);
	f = reference_striped_map();
	f.fmap_count = 2;
	assert_int_equal(famfs_fmap_resolve(&f, 0, &d, &c), -EINVAL);
	f = simple_map();
	f.fmap_ext_type = 7;
	assert_int_equal(famfs_fmap_resolve(&f, 0, &d, &c), -EINVAL);
}

static void famfs_fmap_capacity_counts_addressable_bytes(void **state)
{
	struct famfs_omf_fmap f;

	(void)state;
	f = simple_map();
	assert_int_equal(famfs_fmap_capacity(&f), 8 * MIB);
	f.fmap_count = 1;
	assert_int_equal(famfs_fmap_capacity(&f), 2 * MIB);
	f.fmap_count = 0;
	assert_int_equal(famfs_fmap_capacity(&f), 0);

	f = reference_striped_map();
	assert_int_equal(famfs_fmap_capacity(&f), 24 * MIB);
	assert_true(famfs_fmap_capacity(&f) >= STRIPED_SIZE);
	f.ie[0].ie_chunk_size = 0;
	assert_int_equal(famfs_fmap_capacity(&f), 0);
	f = reference_striped_map();
	f.ie[0].ie_nstrips = 0;
	assert_int_equal(famfs_fmap_capacity(&f), 0);
}

/* ---- I/O through a device file ---- */

static int dev_setup(void **state)
{
	static struct test_dev t;

	test_dev_make(&t, 4 * GIB, 8 * MIB);
	*state = &t;
	return 0;
}

static int dev_teardown(void **state)
{
	test_dev_remove(*state);
	return 0;
}

/* Byte @i of a test file; varies within and across chunks so misplaced data shows. */
static uint8_t pat(unsigned int seed, uint64_t i)
{
	uint64_t x = (i + 1) * 0x9e3779b97f4a7c15ULL + seed * 0x632be59bd9b4e019ULL;

	return (uint8_t)(x >> 56 ^ i >> 21);
}

static uint8_t *pattern(unsigned int seed, uint64_t len)
{
	uint8_t *p = malloc(len ? len : 1);

	assert_non_null(p);
	for (uint64_t i = 0; i < len; i++)
		p[i] = pat(seed, i);
	return p;
}

static struct famfs_inode *make_file(struct famfs_fs *fs, const char *path, uint64_t size,
				     const struct famfs_alloc_params *ap)
{
	struct famfs_inode *ino = NULL;

	assert_int_equal(famfs_fs_creat(fs, path, size, 0644, 0, 0, ap, &ino), 0);
	assert_non_null(ino);
	assert_int_equal(ino->size, size);
	return ino;
}

static void write_all(struct famfs_fs *fs, const struct famfs_inode *ino, const uint8_t *buf)
{
	assert_int_equal(famfs_file_write(fs, ino, 0, buf, ino->size), (ssize_t)ino->size);
}

static void read_equals(struct famfs_fs *fs, const struct famfs_inode *ino, const uint8_t *want,
			unsigned int flags)
{
	uint8_t *got = malloc(ino->size + 4096);

	assert_non_null(got);
	memset(got, 0xee, ino->size + 4096);
	/* Ask for more than the file holds: the read is short at EOF. */
	assert_int_equal(famfs_file_read(fs, ino, 0, got, ino->size + 4096, flags),
			 (ssize_t)ino->size);
	assert_memory_equal(got, want, ino->size);
	assert_int_equal(got[ino->size], 0xee);
	free(got);
}

/* The device file holds @want[off, off+len) where the chunk rule (or extent walk) says. */
static void device_holds(const struct test_dev *t, const struct famfs_omf_fmap *f, uint64_t off,
			 const uint8_t *want, uint64_t len)
{
	int fd = open(t->path, O_RDONLY);
	uint8_t *buf = malloc(CHUNK);

	assert_true(fd >= 0);
	assert_non_null(buf);
	while (len) {
		uint64_t contig, dev = expect_dev_off(f, off, &contig);
		uint64_t n = len < contig ? len : contig;

		if (n > CHUNK)
			n = CHUNK;
		assert_int_equal(pread(fd, buf, n, (off_t)dev), (ssize_t)n);
		assert_memory_equal(buf, want, n);
		off += n;
		want += n;
		len -= n;
	}
	free(buf);
	close(fd);
}

static void check_striped_geometry(const struct famfs_inode *ino)
{
	const struct famfs_omf_interleave *ie = &ino->fmap.ie[0];
	uint64_t buckets = 0;

	assert_int_equal(ino->fmap.fmap_ext_type, FAMFS_EXT_INTERLEAVE);
	assert_int_equal(ino->fmap.fmap_count, 1);
	assert_int_equal(ie->ie_nstrips, 3);
	assert_int_equal(ie->ie_chunk_size, CHUNK);
	for (int k = 0; k < 3; k++) {
		uint64_t b = ie->ie_strips[k].ext_offset / GIB;

		assert_int_equal(ie->ie_strips[k].ext_len, 8 * MIB);
		assert_false(buckets & (1ULL << b));
		buckets |= 1ULL << b;
	}
}

static void famfs_file_write_read_simple_round_trip(void **state)
{
	struct test_dev *t = *state;
	struct famfs_fs *fs = test_dev_open(t, 0);
	const uint64_t size = 5 * MIB + 123;
	uint8_t *want = pattern(1, size);
	struct famfs_inode *ino = make_file(fs, "simple", size, NULL);

	assert_int_equal(ino->fmap.fmap_ext_type, FAMFS_EXT_SIMPLE);
	assert_int_equal(ino->fmap.se[0].ext_len, 6 * MIB);
	write_all(fs, ino, want);
	read_equals(fs, ino, want, 0);
	device_holds(t, &ino->fmap, 0, want, size);

	/* Unaligned pieces read back in odd sizes. */
	{
		uint8_t *got = malloc(size);
		uint64_t off = 0;

		assert_non_null(got);
		while (off < size) {
			size_t n = 777777;
			ssize_t r = famfs_file_read(fs, ino, off, got + off, n, 0);

			assert_true(r > 0);
			off += (uint64_t)r;
		}
		assert_memory_equal(got, want, size);
		free(got);
	}
	free(want);
	famfs_fs_close(fs);
}

static void famfs_file_write_read_interleaved_round_trip(void **state)
{
	struct test_dev *t = *state;
	struct famfs_fs *fs = test_dev_open(t, 0);
	uint8_t *want = pattern(2, STRIPED_SIZE);
	struct famfs_inode *ino = make_file(fs, "striped", STRIPED_SIZE, &striped);

	check_striped_geometry(ino);
	write_all(fs, ino, want);
	read_equals(fs, ino, want, 0);
	device_holds(t, &ino->fmap, 0, want, STRIPED_SIZE);
	/* Each chunk sits whole at strips[k % 3] + (k / 3) * C. */
	for (uint64_t k = 0; k * CHUNK < STRIPED_SIZE; k++) {
		uint64_t d, c;

		assert_int_equal(famfs_fmap_resolve(&ino->fmap, k * CHUNK, &d, &c), 0);
		assert_int_equal(d, ino->fmap.ie[0].ie_strips[k % 3].ext_offset + (k / 3) * CHUNK);
	}
	free(want);
	famfs_fs_close(fs);
}

static void famfs_file_write_spans_chunk_boundaries(void **state)
{
	struct test_dev *t = *state;
	struct famfs_fs *fs = test_dev_open(t, 0);
	uint8_t *model = pattern(3, STRIPED_SIZE);
	uint8_t *patch = pattern(4, 3 * CHUNK);
	struct famfs_inode *ino = make_file(fs, "spans", STRIPED_SIZE, &striped);

	check_striped_geometry(ino);
	write_all(fs, ino, model);
	/* Small writes straddling each chunk boundary (and so each strip change). */
	for (uint64_t k = 1; k * CHUNK < STRIPED_SIZE; k++) {
		uint64_t off = k * CHUNK - 37;

		assert_int_equal(famfs_file_write(fs, ino, off, patch + k, 100), 100);
		memcpy(model + off, patch + k, 100);
	}
	/* One write covering more than a whole stripe, from the middle of a chunk. */
	assert_int_equal(famfs_file_write(fs, ino, CHUNK / 2 + 5, patch, 3 * CHUNK),
			 (ssize_t)(3 * CHUNK));
	memcpy(model + CHUNK / 2 + 5, patch, 3 * CHUNK);
	/* A read straddling a boundary returns both sides. */
	{
		uint8_t got[200];

		assert_int_equal(famfs_file_read(fs, ino, 7 * CHUNK - 100, got, sizeof(got), 0),
				 (ssize_t)sizeof(got));
		assert_memory_equal(got, model + 7 * CHUNK - 100, sizeof(got));
	}
	read_equals(fs, ino, model, 0);
	device_holds(t, &ino->fmap, 0, model, STRIPED_SIZE);
	free(patch);
	free(model);
	famfs_fs_close(fs);
}

static void famfs_file_read_short_at_eof(void **state)
{
	struct test_dev *t = *state;
	struct famfs_fs *fs = test_dev_open(t, 0);
	uint8_t *want = pattern(5, STRIPED_SIZE);
	uint8_t buf[10000];
	struct famfs_inode *small = make_file(fs, "small", 5000, NULL);
	struct famfs_inode *big = make_file(fs, "big", STRIPED_SIZE, &striped);

	write_all(fs, small, want);
	write_all(fs, big, want);
	assert_int_equal(famfs_file_read(fs, small, 0, buf, sizeof(buf), 0), 5000);
	assert_memory_equal(buf, want, 5000);
	assert_int_equal(famfs_file_read(fs, small, 4990, buf, 100, 0), 10);
	assert_memory_equal(buf, want + 4990, 10);
	assert_int_equal(famfs_file_read(fs, small, 4999, buf, 1, 0), 1);
	assert_int_equal(famfs_file_read(fs, small, 5000, buf, 100, 0), 0);
	assert_int_equal(famfs_file_read(fs, small, 6000, buf, 100, 0), 0);
	assert_int_equal(famfs_file_read(fs, small, 1ULL << 40, buf, 100, 0), 0);
	assert_int_equal(famfs_file_read(fs, small, UINT64_MAX, buf, 100, 0), 0);
	assert_int_equal(famfs_file_read(fs, small, 0, buf, 0, 0), 0);

	/* The interleaved file's EOF lies inside chunk 10, past its allocation's middle. */
	assert_int_equal(famfs_file_read(fs, big, STRIPED_SIZE - 10, buf, 100, 0), 10);
	assert_memory_equal(buf, want + STRIPED_SIZE - 10, 10);
	assert_int_equal(famfs_file_read(fs, big, STRIPED_SIZE, buf, 100, 0), 0);
	/* Past EOF but inside the allocation (24 MiB): still nothing. */
	assert_int_equal(famfs_file_read(fs, big, 23 * MIB, buf, 100, 0), 0);
	free(want);
	famfs_fs_close(fs);
}

static void famfs_file_write_past_eof_efbig(void **state)
{
	struct test_dev *t = *state;
	struct famfs_fs *fs = test_dev_open(t, 0);
	uint8_t data[200], zero[4096], got[4096];
	struct famfs_inode *ino = make_file(fs, "f", 5000, NULL);
	struct famfs_inode *big = make_file(fs, "big", STRIPED_SIZE, &striped);
	uint64_t contig, dev;
	int fd;

	memset(data, 0xab, sizeof(data));
	memset(zero, 0, sizeof(zero));
	assert_int_equal(famfs_file_write(fs, ino, 5000, data, 1), -EFBIG);
	assert_int_equal(famfs_file_write(fs, ino, 5001, data, 1), -EFBIG);
	assert_int_equal(famfs_file_write(fs, ino, 1ULL << 40, data, 1), -EFBIG);
	assert_int_equal(famfs_file_write(fs, ino, UINT64_MAX, data, 1), -EFBIG);
	assert_int_equal(famfs_file_write(fs, big, STRIPED_SIZE, data, 1), -EFBIG);
	assert_int_equal(famfs_file_write(fs, big, 23 * MIB, data, 1), -EFBIG);

	/* A write across EOF is short and leaves the allocation past EOF untouched. */
	assert_int_equal(famfs_file_write(fs, ino, 4990, data, sizeof(data)), 10);
	assert_int_equal(famfs_file_read(fs, ino, 4980, got, 100, 0), 20);
	assert_int_equal(got[9], 0);
	assert_memory_equal(got + 10, data, 10);
	fd = open(t->path, O_RDONLY);
	assert_true(fd >= 0);
	dev = expect_dev_off(&ino->fmap, 5000, &contig);
	assert_int_equal(pread(fd, got, sizeof(got), (off_t)dev), (ssize_t)sizeof(got));
	assert_memory_equal(got, zero, sizeof(got));

	assert_int_equal(famfs_file_write(fs, big, STRIPED_SIZE - 3, data, sizeof(data)), 3);
	dev = expect_dev_off(&big->fmap, STRIPED_SIZE, &contig);
	assert_int_equal(pread(fd, got, sizeof(got), (off_t)dev), (ssize_t)sizeof(got));
	assert_memory_equal(got, zero, sizeof(got));
	dev = expect_dev_off(&big->fmap, STRIPED_SIZE - 3, &contig);
	assert_int_equal(pread(fd, got, 3, (off_t)dev), 3);
	assert_memory_equal(got, data, 3);
	close(fd);
	famfs_fs_close(fs);
}

static void famfs_file_read_directory_eisdir(void **state)
{
	struct test_dev *t = *state;
	struct famfs_fs *fs = test_dev_open(t, 0);
	struct famfs_inode *d = NULL;
	uint8_t buf[16] = {0};

	assert_int_equal(famfs_fs_mkdir(fs, "d", 0755, 0, 0, &d), 0);
	assert_non_null(d);
	assert_int_equal(famfs_file_read(fs, d, 0, buf, sizeof(buf), 0), -EISDIR);
	assert_int_equal(famfs_file_read(fs, famfs_fs_ns(fs)->root, 0, buf, sizeof(buf), 0),
			 -EISDIR);
	assert_int_equal(famfs_file_write(fs, d, 0, buf, sizeof(buf)), -EISDIR);
	famfs_fs_close(fs);
}

static void famfs_file_read_after_reopen_same_data(void **state)
{
	struct test_dev *t = *state;
	struct famfs_fs *fs = test_dev_open(t, 0);
	const uint64_t ssize = 3 * MIB + 1;
	uint8_t *ws = pattern(6, ssize), *wi = pattern(7, STRIPED_SIZE);
	struct famfs_omf_fmap fs_map, fi_map;
	struct famfs_inode *s, *i;

	assert_int_equal(famfs_fs_mkdir(fs, "dir", 0755, 0, 0, NULL), 0);
	s = make_file(fs, "dir/simple", ssize, NULL);
	i = make_file(fs, "dir/striped", STRIPED_SIZE, &striped);
	check_striped_geometry(i);
	write_all(fs, s, ws);
	write_all(fs, i, wi);
	fs_map = s->fmap;
	fi_map = i->fmap;
	famfs_fs_close(fs);

	/* A fresh replay as the master, then as a client. */
	for (int client = 0; client <= 1; client++) {
		fs = test_dev_open(t, client);
		assert_int_equal(famfs_fs_resolve(fs, "dir/simple", &s), 0);
		assert_int_equal(famfs_fs_resolve(fs, "dir/striped", &i), 0);
		assert_int_equal(s->size, ssize);
		assert_int_equal(i->size, STRIPED_SIZE);
		assert_memory_equal(&s->fmap, &fs_map, sizeof(fs_map));
		assert_memory_equal(&i->fmap, &fi_map, sizeof(fi_map));
		read_equals(fs, s, ws, 0);
		read_equals(fs, i, wi, FAMFS_IO_INVALIDATE);
		famfs_fs_close(fs);
	}
	device_holds(t, &fs_map, 0, ws, ssize);
	device_holds(t, &fi_map, 0, wi, STRIPED_SIZE);
	free(ws);
	free(wi);
}

static void famfs_file_write_readonly_erofs(void **state)
{
	struct test_dev *t = *state;
	struct famfs_fs *fs = test_dev_open(t, 0);
	struct famfs_fs_opts ro = {.readonly = true, .system_uuid = TEST_CLIENT_UUID};
	struct famfs_inode *ino = make_file(fs, "ro", 4096, NULL);
	uint8_t data[64], got[64];

	memset(data, 0x5c, sizeof(data));
	assert_int_equal(famfs_file_write(fs, ino, 0, data, sizeof(data)), (ssize_t)sizeof(data));
	famfs_fs_close(fs);

	fs = NULL;
	assert_int_equal(famfs_fs_open(t->path, &ro, &fs), 0);
	assert_int_equal(famfs_fs_resolve(fs, "ro", &ino), 0);
	assert_int_equal(famfs_file_write(fs, ino, 0, data, sizeof(data)), -EROFS);
	assert_int_equal(famfs_file_read(fs, ino, 0, got, sizeof(got), 0), (ssize_t)sizeof(got));
	assert_memory_equal(got, data, sizeof(got));
	famfs_fs_close(fs);
}

#define DEV_TEST(f) cmocka_unit_test_setup_teardown(f, dev_setup, dev_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(famfs_fmap_resolve_walks_simple_extents),
	    cmocka_unit_test(famfs_fmap_resolve_simple_past_allocation_erange),
	    cmocka_unit_test(famfs_fmap_resolve_interleaved_chunk_rule),
	    cmocka_unit_test(famfs_fmap_resolve_interleaved_past_allocation_erange),
	    cmocka_unit_test(famfs_fmap_resolve_bad_map_einval),
	    cmocka_unit_test(famfs_fmap_capacity_counts_addressable_bytes),
	    DEV_TEST(famfs_file_write_read_simple_round_trip),
	    DEV_TEST(famfs_file_write_read_interleaved_round_trip),
	    DEV_TEST(famfs_file_write_spans_chunk_boundaries),
	    DEV_TEST(famfs_file_read_short_at_eof),
	    DEV_TEST(famfs_file_write_past_eof_efbig),
	    DEV_TEST(famfs_file_read_directory_eisdir),
	    DEV_TEST(famfs_file_read_after_reopen_same_data),
	    DEV_TEST(famfs_file_write_readonly_erofs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
