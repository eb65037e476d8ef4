/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file test_alloc.c
 * @brief The allocation bitmap, the contiguous first-fit allocator, the interleave
 *        parameter check and the interleaved ("strided") allocator.
 *
 * Geometry follows famfs-format.md section 7: 2 MiB units, the superblock region and the
 * log reserved, and the worked example of 7.3 (4 GiB, 4 buckets, 3 strips, 2 MiB chunks,
 * 20 MiB + 4097 bytes -> 3 strips of 8 MiB in distinct 1 GiB buckets).
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "famfs/alloc.h"
#include "famfs/omf.h"

#define MIB	 (1024ULL * 1024)
#define GIB	 (1024ULL * MIB)
#define UNIT	 FAMFS_ALLOC_UNIT
#define LOG_LEN	 (8 * MIB)
#define RESERVED (FAMFS_LOG_OFFSET + LOG_LEN) /* 10 MiB: 5 units */

static int bit_is_set(const struct famfs_bitmap *bm, uint64_t b)
{
	return (int)((bm->words[b / 64] >> (b % 64)) & 1);
}

/* Every unit of [off, off + len) is set. */
static int range_is_set(const struct famfs_bitmap *bm, uint64_t off, uint64_t len)
{
	for (uint64_t b = off / UNIT; b < (off + len) / UNIT; b++)
		if (!bit_is_set(bm, b))
			return 0;
	return 1;
}

static uint64_t count_set(const struct famfs_bitmap *bm)
{
	uint64_t n = 0;

	for (uint64_t b = 0; b < bm->nbits; b++)
		n += (uint64_t)bit_is_set(bm, b);
	return n;
}

static void init_4g(struct famfs_bitmap *bm)
{
	assert_int_equal(famfs_bitmap_init(bm, 4 * GIB, UNIT, RESERVED), 0);
}

static void init_64m(struct famfs_bitmap *bm)
{
	assert_int_equal(famfs_bitmap_init(bm, 64 * MIB, UNIT, RESERVED), 0);
}

static const struct famfs_alloc_params example_params = {
    .nbuckets = 4,
    .nstrips = 3,
    .chunk_size = 2 * MIB,
    .seed = 42,
};
#define EXAMPLE_SIZE (20 * MIB + 4097)

/* ---- bitmap ---- */

static void famfs_bitmap_init_marks_reserved_range(void **state)
{
	struct famfs_bitmap bm;

	(void)state;
	init_4g(&bm);
	assert_int_equal(bm.unit, UNIT);
	assert_int_equal(bm.nbits, 2048);
	assert_int_equal(bm.reserved, 5);
	assert_int_equal(bm.nset, 5);
	assert_int_equal(count_set(&bm), 5);
	for (uint64_t b = 0; b < 5; b++)
		assert_true(bit_is_set(&bm, b));
	assert_false(bit_is_set(&bm, 5));
	assert_false(bit_is_set(&bm, 2047));
	assert_int_equal(famfs_bitmap_free_bytes(&bm), 4 * GIB - RESERVED);
	famfs_bitmap_fini(&bm);
}

static void famfs_bitmap_init_rounds_capacity_up(void **state)
{
	struct famfs_bitmap bm;

	(void)state;
	assert_int_equal(famfs_bitmap_init(&bm, 4 * GIB + 1, UNIT, RESERVED), 0);
	assert_int_equal(bm.nbits, 2049);
	assert_int_equal(bm.nset, 5);
	famfs_bitmap_fini(&bm);

	/* A larger log reserves more: 2 MiB + 16 MiB = 9 units. */
	assert_int_equal(famfs_bitmap_init(&bm, 4 * GIB, UNIT, FAMFS_LOG_OFFSET + 16 * MIB), 0);
	assert_int_equal(bm.reserved, 9);
	assert_true(bit_is_set(&bm, 8));
	assert_false(bit_is_set(&bm, 9));
	famfs_bitmap_fini(&bm);
}

static void famfs_bitmap_mark_returns_collisions(void **state)
{
	struct famfs_bitmap bm;

	(void)state;
	init_4g(&bm);
	/* Units 5..7: all free. */
	assert_int_equal(famfs_bitmap_mark(&bm, 10 * MIB, 6 * MIB), 0);
	assert_int_equal(bm.nset, 8);
	assert_true(range_is_set(&bm, 10 * MIB, 6 * MIB));
	/* Units 7..9: unit 7 is taken. */
	assert_int_equal(famfs_bitmap_mark(&bm, 14 * MIB, 6 * MIB), 1);
	assert_int_equal(bm.nset, 10);
	/* The reserved range again: every unit collides, nothing changes. */
	assert_int_equal(famfs_bitmap_mark(&bm, 0, RESERVED), 5);
	assert_int_equal(bm.nset, 10);
	/* A partial unit counts as a whole one. */
	assert_int_equal(famfs_bitmap_mark(&bm, 20 * MIB, 1), 0);
	assert_int_equal(bm.nset, 11);
	assert_int_equal(famfs_bitmap_mark(&bm, 20 * MIB, UNIT), 1);
	/* Zero length marks nothing. */
	assert_int_equal(famfs_bitmap_mark(&bm, 30 * MIB, 0), 0);
	assert_int_equal(bm.nset, 11);
	assert_int_equal(count_set(&bm), 11);
	famfs_bitmap_fini(&bm);
}

static void famfs_bitmap_mark_ignores_units_past_capacity(void **state)
{
	struct famfs_bitmap bm;

	(void)state;
	init_4g(&bm);
	/* Only the last unit is inside the capacity. */
	assert_int_equal(famfs_bitmap_mark(&bm, 4 * GIB - UNIT, 3 * UNIT), 0);
	assert_int_equal(bm.nset, 6);
	assert_true(bit_is_set(&bm, 2047));
	assert_int_equal(famfs_bitmap_mark(&bm, 4 * GIB - UNIT, 3 * UNIT), 1);
	/* Entirely outside: neither marked nor counted. */
	assert_int_equal(famfs_bitmap_mark(&bm, 8 * GIB, UNIT), 0);
	assert_int_equal(bm.nset, 6);
	famfs_bitmap_fini(&bm);
}

static void famfs_bitmap_clear_frees_units(void **state)
{
	struct famfs_bitmap bm;

	(void)state;
	init_4g(&bm);
	assert_int_equal(famfs_bitmap_mark(&bm, 100 * MIB, 8 * MIB), 0);
	assert_int_equal(bm.nset, 9);
	famfs_bitmap_clear(&bm, 102 * MIB, 4 * MIB);
	assert_int_equal(bm.nset, 7);
	assert_true(bit_is_set(&bm, 50));
	assert_false(bit_is_set(&bm, 51));
	assert_false(bit_is_set(&bm, 52));
	assert_true(bit_is_set(&bm, 53));
	/* Clearing free units changes nothing. */
	famfs_bitmap_clear(&bm, 102 * MIB, 4 * MIB);
	assert_int_equal(bm.nset, 7);
	famfs_bitmap_clear(&bm, 100 * MIB, 8 * MIB);
	assert_int_equal(bm.nset, 5);
	assert_int_equal(count_set(&bm), 5);
	assert_int_equal(famfs_bitmap_free_bytes(&bm), 4 * GIB - RESERVED);
	/* The range can be marked again without collision. */
	assert_int_equal(famfs_bitmap_mark(&bm, 100 * MIB, 8 * MIB), 0);
	famfs_bitmap_fini(&bm);
}

static void famfs_bitmap_mark_fmap_counts_every_extent(void **state)
{
	struct famfs_bitmap bm;
	struct famfs_omf_fmap s, i;

	(void)state;
	init_4g(&bm);
	memset(&s, 0, sizeof(s));
	s.fmap_ext_type = FAMFS_EXT_SIMPLE;
	s.fmap_count = 2;
	s.se[0] = (struct famfs_omf_extent){0, 20 * MIB, 4 * MIB};
	s.se[1] = (struct famfs_omf_extent){0, 40 * MIB, 2 * MIB};
	assert_int_equal(famfs_bitmap_mark_fmap(&bm, &s), 0);
	assert_int_equal(bm.nset, 8);
	assert_int_equal(famfs_bitmap_mark_fmap(&bm, &s), 3);

	memset(&i, 0, sizeof(i));
	i.fmap_ext_type = FAMFS_EXT_INTERLEAVE;
	i.fmap_count = 1;
	i.ie[0].ie_nstrips = 2;
	i.ie[0].ie_chunk_size = 2 * MIB;
	i.ie[0].ie_strips[0] = (struct famfs_omf_extent){0, 1 * GIB, 4 * MIB};
	i.ie[0].ie_strips[1] = (struct famfs_omf_extent){0, 40 * MIB, 4 * MIB}; /* 1 overlap */
	assert_int_equal(famfs_bitmap_mark_fmap(&bm, &i), 1);
	assert_int_equal(bm.nset, 11);

	famfs_bitmap_clear_fmap(&bm, &i);
	famfs_bitmap_clear_fmap(&bm, &s);
	assert_int_equal(bm.nset, 5);
	assert_int_equal(count_set(&bm), 5);
	famfs_bitmap_fini(&bm);
}

/* ---- contiguous ---- */

static void famfs_alloc_contig_rounds_up_to_unit(void **state)
{
	struct famfs_bitmap bm;
	struct famfs_omf_fmap f;
	uint64_t cursor = 0;

	(void)state;
	init_4g(&bm);
	assert_int_equal(famfs_alloc_contig(&bm, 5000, &cursor, &f), 0);
	assert_int_equal(f.fmap_ext_type, FAMFS_EXT_SIMPLE);
	assert_int_equal(f.fmap_count, 1);
	assert_int_equal(f.se[0].ext_devindex, 0);
	assert_int_equal(f.se[0].ext_offset, RESERVED);
	assert_int_equal(f.se[0].ext_len, 2 * MIB);
	assert_int_equal(bm.nset, 6);

	assert_int_equal(famfs_alloc_contig(&bm, 2 * MIB + 1, &cursor, &f), 0);
	assert_int_equal(f.se[0].ext_offset, RESERVED + 2 * MIB);
	assert_int_equal(f.se[0].ext_len, 4 * MIB);

	assert_int_equal(famfs_alloc_contig(&bm, 2 * MIB, &cursor, &f), 0);
	assert_int_equal(f.se[0].ext_len, 2 * MIB);
	assert_int_equal(bm.nset, 9);
	assert_true(range_is_set(&bm, RESERVED, 8 * MIB));
	famfs_bitmap_fini(&bm);
}

/* ---- packed (4 KiB bits) ---- */

#define PAGE 4096ULL

static void init_packed(struct famfs_bitmap *bm)
{
	assert_int_equal(famfs_bitmap_init(bm, 64 * MIB, PAGE, RESERVED), 0);
	assert_int_equal(bm->align, UNIT);
}

static void famfs_alloc_packed_fills_one_block_and_never_crosses_it(void **state)
{
	struct famfs_bitmap bm;
	struct famfs_omf_fmap f;
	uint64_t cursor = 0, first;

	(void)state;
	init_packed(&bm);
	assert_int_equal(famfs_alloc_packed(&bm, 100, &f), 0);
	first = f.se[0].ext_offset;
	assert_int_equal(first, RESERVED);
	assert_int_equal(f.se[0].ext_len, PAGE);
	/* The next small file follows it in the same 2 MiB block. */
	assert_int_equal(famfs_alloc_packed(&bm, 5000, &f), 0);
	assert_int_equal(f.se[0].ext_offset, first + PAGE);
	assert_int_equal(f.se[0].ext_len, 2 * PAGE);
	/* 2 MiB - 4 KiB does not fit what is left of the block: it starts the next one. */
	assert_int_equal(famfs_alloc_packed(&bm, UNIT - PAGE, &f), 0);
	assert_int_equal(f.se[0].ext_offset, first + UNIT);
	/* A large allocation takes whole aligned blocks, past both. */
	assert_int_equal(famfs_alloc_contig(&bm, 5000, &cursor, &f), 0);
	assert_int_equal(f.se[0].ext_offset, first + 2 * UNIT);
	assert_int_equal(f.se[0].ext_len, UNIT);
	/* 2 MiB or more is not small. */
	assert_int_equal(famfs_alloc_packed(&bm, UNIT, &f), -EINVAL);
	assert_int_equal(famfs_alloc_packed(&bm, 0, &f), -EINVAL);
	famfs_bitmap_fini(&bm);
}

static void famfs_alloc_contig_on_pages_skips_partly_used_blocks(void **state)
{
	struct famfs_bitmap bm;
	struct famfs_omf_fmap f;
	uint64_t cursor = 0;

	(void)state;
	init_packed(&bm);
	/* One page used in each of the first two blocks. */
	assert_int_equal(famfs_bitmap_mark(&bm, RESERVED + 7 * PAGE, PAGE), 0);
	assert_int_equal(famfs_bitmap_mark(&bm, RESERVED + UNIT + UNIT - PAGE, PAGE), 0);
	assert_int_equal(famfs_alloc_contig(&bm, 3 * MIB, &cursor, &f), 0);
	assert_int_equal(f.se[0].ext_offset, RESERVED + 2 * UNIT);
	assert_int_equal(f.se[0].ext_len, 2 * UNIT);
	assert_int_equal(f.se[0].ext_offset % UNIT, 0);
	famfs_bitmap_fini(&bm);
}

static void famfs_alloc_extend_grows_in_place_inside_the_block(void **state)
{
	struct famfs_bitmap bm;
	struct famfs_omf_fmap a, b;

	(void)state;
	init_packed(&bm);
	assert_int_equal(famfs_alloc_packed(&bm, PAGE, &a), 0);
	/* The next pages are free: the extent grows in place. */
	assert_int_equal(famfs_alloc_extend(&bm, a.se[0].ext_offset + PAGE, 3 * PAGE), 0);
	assert_true(range_is_set(&bm, a.se[0].ext_offset, 4 * PAGE));
	/* Another file right behind it: no more room in place. */
	assert_int_equal(famfs_alloc_packed(&bm, PAGE, &b), 0);
	assert_int_equal(b.se[0].ext_offset, a.se[0].ext_offset + 4 * PAGE);
	assert_int_equal(famfs_alloc_extend(&bm, a.se[0].ext_offset + 4 * PAGE, PAGE), -ENOSPC);
	/* Never across the end of the 2 MiB block. */
	assert_int_equal(famfs_alloc_extend(&bm, b.se[0].ext_offset + PAGE, UNIT), -ENOSPC);
	assert_int_equal(famfs_alloc_extend(&bm, RESERVED + UNIT, PAGE), -ENOSPC);
	famfs_bitmap_fini(&bm);
}

static void famfs_alloc_contig_advances_cursor(void **state)
{
	struct famfs_bitmap bm;
	struct famfs_omf_fmap f;
	uint64_t cursor = 0;

	(void)state;
	init_4g(&bm);
	assert_int_equal(famfs_alloc_contig(&bm, 3 * MIB, &cursor, &f), 0);
	assert_int_equal(cursor, f.se[0].ext_offset + f.se[0].ext_len);
	assert_int_equal(cursor, RESERVED + 4 * MIB);

	/* A hole behind the cursor is not reused while space lies ahead. */
	famfs_bitmap_clear(&bm, RESERVED, 4 * MIB);
	assert_int_equal(famfs_alloc_contig(&bm, 1, &cursor, &f), 0);
	assert_int_equal(f.se[0].ext_offset, RESERVED + 4 * MIB);

	/* First fit from the cursor skips a free run that is too short. */
	cursor = 100 * MIB;
	assert_int_equal(famfs_bitmap_mark(&bm, 102 * MIB, UNIT), 0);
	assert_int_equal(famfs_alloc_contig(&bm, 4 * MIB, &cursor, &f), 0);
	assert_int_equal(f.se[0].ext_offset, 104 * MIB);
	assert_int_equal(cursor, 108 * MIB);
	/* ...but a 2 MiB request fits the hole at the cursor once we go back there. */
	cursor = 100 * MIB;
	assert_int_equal(famfs_alloc_contig(&bm, UNIT, &cursor, &f), 0);
	assert_int_equal(f.se[0].ext_offset, 100 * MIB);
	famfs_bitmap_fini(&bm);
}

static void famfs_alloc_contig_wraps_to_start(void **state)
{
	struct famfs_bitmap bm;
	struct famfs_omf_fmap f;
	uint64_t cursor = 60 * MIB; /* unit 30 of 32 */

	(void)state;
	init_64m(&bm);
	assert_int_equal(famfs_alloc_contig(&bm, UNIT, &cursor, &f), 0);
	assert_int_equal(f.se[0].ext_offset, 60 * MIB);
	assert_int_equal(cursor, 62 * MIB);
	/* Only one unit is left past the cursor: wrap to the first free unit. */
	assert_int_equal(famfs_alloc_contig(&bm, 2 * UNIT, &cursor, &f), 0);
	assert_int_equal(f.se[0].ext_offset, RESERVED);
	assert_int_equal(cursor, RESERVED + 2 * UNIT);
	/* The last unit is still reachable from the end. */
	cursor = 62 * MIB;
	assert_int_equal(famfs_alloc_contig(&bm, UNIT, &cursor, &f), 0);
	assert_int_equal(f.se[0].ext_offset, 62 * MIB);
	assert_int_equal(cursor, 64 * MIB);
	/* A cursor at the very end wraps too. */
	assert_int_equal(famfs_alloc_contig(&bm, UNIT, &cursor, &f), 0);
	assert_int_equal(f.se[0].ext_offset, RESERVED + 2 * UNIT);
	famfs_bitmap_fini(&bm);
}

static void famfs_alloc_contig_never_returns_offset_zero(void **state)
{
	struct famfs_bitmap bm;
	struct famfs_omf_fmap f;
	uint64_t cursor = 0, n = 0;

	(void)state;
	init_64m(&bm);
	/* Fill the whole device from a cursor at 0, restarting the cursor each time. */
	for (;;) {
		cursor = 0;
		if (famfs_alloc_contig(&bm, UNIT, &cursor, &f) != 0)
			break;
		assert_true(f.se[0].ext_offset != 0);
		assert_true(f.se[0].ext_offset >= RESERVED);
		n++;
	}
	assert_int_equal(n, 32 - 5);
	famfs_bitmap_fini(&bm);
}

static void famfs_alloc_contig_enospc_when_full(void **state)
{
	struct famfs_bitmap bm;
	struct famfs_omf_fmap f;
	uint64_t cursor = 0, n = 0, saved;
	int rc;

	(void)state;
	init_64m(&bm);
	assert_int_equal(bm.nbits, 32);
	while ((rc = famfs_alloc_contig(&bm, UNIT, &cursor, &f)) == 0)
		n++;
	assert_int_equal(rc, -ENOSPC);
	assert_int_equal(n, 27);
	assert_int_equal(bm.nset, bm.nbits);
	assert_int_equal(famfs_bitmap_free_bytes(&bm), 0);
	saved = cursor;
	assert_int_equal(famfs_alloc_contig(&bm, 1, &cursor, &f), -ENOSPC);
	assert_int_equal(cursor, saved);
	assert_int_equal(bm.nset, bm.nbits);
	famfs_bitmap_fini(&bm);
}

static void famfs_alloc_contig_enospc_when_fragmented(void **state)
{
	struct famfs_bitmap bm;
	struct famfs_omf_fmap f;
	uint64_t cursor = 0;

	(void)state;
	init_64m(&bm);
	/* Free every other unit: 13 free units, but no two adjacent. */
	for (uint64_t b = 5; b < 32; b += 2)
		famfs_bitmap_mark(&bm, b * UNIT, UNIT);
	assert_int_equal(famfs_alloc_contig(&bm, 2 * UNIT, &cursor, &f), -ENOSPC);
	assert_int_equal(bm.nset, 5 + 14);
	assert_int_equal(famfs_alloc_contig(&bm, UNIT, &cursor, &f), 0);
	assert_int_equal(f.se[0].ext_offset, 6 * UNIT);
	/* Larger than the device. */
	cursor = 0;
	assert_int_equal(famfs_alloc_contig(&bm, 128 * MIB, &cursor, &f), -ENOSPC);
	famfs_bitmap_fini(&bm);
}

/* ---- interleave parameters ---- */

static void famfs_alloc_params_check_accepts_valid(void **state)
{
	struct famfs_alloc_params p = example_params;
	char why[256] = "";

	(void)state;
	assert_int_equal(famfs_alloc_params_check(&p, 4 * GIB, UNIT, why, sizeof(why)), 0);
	p.nstrips = 4; /* nstrips == nbuckets */
	assert_int_equal(famfs_alloc_params_check(&p, 4 * GIB, UNIT, why, sizeof(why)), 0);
	p = (struct famfs_alloc_params){.nbuckets = 1, .nstrips = 1, .chunk_size = 2 * MIB};
	assert_int_equal(famfs_alloc_params_check(&p, 1 * GIB, UNIT, why, sizeof(why)), 0);
	p = (struct famfs_alloc_params){.nbuckets = 64, .nstrips = 16, .chunk_size = 256 * MIB};
	assert_int_equal(famfs_alloc_params_check(&p, 64 * GIB, UNIT, why, sizeof(why)), 0);
	/* why may be NULL. */
	assert_int_equal(famfs_alloc_params_check(&p, 64 * GIB, UNIT, NULL, 0), 0);
}

static void famfs_alloc_params_check_rejects_each_bad_parameter(void **state)
{
	static const struct {
		const char *what;
		struct famfs_alloc_params p;
		uint64_t capacity;
	} bad[] = {
	    {"nbuckets 0", {0, 1, 2 * MIB, 1, false}, 4 * GIB},
	    {"nbuckets 65", {65, 3, 2 * MIB, 1, false}, 128 * GIB},
	    {"nstrips 0", {4, 0, 2 * MIB, 1, false}, 4 * GIB},
	    {"nstrips > nbuckets", {4, 5, 2 * MIB, 1, false}, 4 * GIB},
	    {"nstrips > 16", {64, 17, 2 * MIB, 1, false}, 64 * GIB},
	    {"chunk 0", {4, 3, 0, 1, false}, 4 * GIB},
	    {"chunk 3 MiB (not a power of two)", {4, 3, 3 * MIB, 1, false}, 4 * GIB},
	    {"chunk 6 MiB (multiple, not a power of two)", {4, 3, 6 * MIB, 1, false}, 4 * GIB},
	    {"chunk 4 KiB (power of two, not a multiple)", {4, 3, 4096, 1, false}, 4 * GIB},
	    {"chunk 1 MiB (power of two, not a multiple)", {4, 3, 1 * MIB, 1, false}, 4 * GIB},
	    {"bucket 0.8 GiB", {5, 3, 2 * MIB, 1, false}, 4 * GIB},
	    {"bucket 1 GiB - 2 MiB", {4, 3, 2 * MIB, 1, false}, 4 * GIB - 8 * MIB},
	    {"bucket on a 2 GiB device", {4, 2, 2 * MIB, 1, false}, 2 * GIB},
	};

	(void)state;
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		char why[256];

		memset(why, 0, sizeof(why));
		print_message("case: %s\n", bad[k].what);
		assert_int_equal(
		    famfs_alloc_params_check(&bad[k].p, bad[k].capacity, UNIT, why, sizeof(why)),
		    -EINVAL);
		assert_true(strlen(why) > 0);
	}
}

static void famfs_alloc_params_check_why_names_the_field(void **state)
{
	struct famfs_alloc_params p;
	char why[256];

	(void)state;
	p = (struct famfs_alloc_params){65, 3, 2 * MIB, 1, false};
	assert_int_equal(famfs_alloc_params_check(&p, 128 * GIB, UNIT, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "nbuckets"));
	p = (struct famfs_alloc_params){4, 5, 2 * MIB, 1, false};
	assert_int_equal(famfs_alloc_params_check(&p, 4 * GIB, UNIT, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "nstrips"));
	p = (struct famfs_alloc_params){4, 3, 3 * MIB, 1, false};
	assert_int_equal(famfs_alloc_params_check(&p, 4 * GIB, UNIT, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "chunk"));
	p = (struct famfs_alloc_params){5, 3, 2 * MIB, 1, false};
	assert_int_equal(famfs_alloc_params_check(&p, 4 * GIB, UNIT, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "1 GiB"));
}

/* ---- interleaved ---- */

/* Strips: interleaved, @nstrips strips of @strip_len, each inside a distinct bucket. */
static void check_strips(const struct famfs_bitmap *bm, const struct famfs_omf_fmap *f,
			 uint64_t nstrips, uint64_t chunk, uint64_t strip_len, uint64_t bucket)
{
	const struct famfs_omf_interleave *ie = &f->ie[0];
	uint64_t seen = 0;

	assert_int_equal(f->fmap_ext_type, FAMFS_EXT_INTERLEAVE);
	assert_int_equal(f->fmap_count, 1);
	assert_int_equal(ie->ie_nstrips, nstrips);
	assert_int_equal(ie->ie_chunk_size, chunk);
	for (uint64_t k = 0; k < nstrips; k++) {
		const struct famfs_omf_extent *s = &ie->ie_strips[k];
		uint64_t b = s->ext_offset / bucket;

		assert_int_equal(s->ext_devindex, 0);
		assert_int_equal(s->ext_len, strip_len);
		assert_int_equal(s->ext_offset % UNIT, 0);
		assert_true(s->ext_offset != 0);
		assert_true(s->ext_offset >= RESERVED);
		/* Wholly inside one bucket. */
		assert_int_equal((s->ext_offset + s->ext_len - 1) / bucket, b);
		assert_false(seen & (1ULL << b));
		seen |= 1ULL << b;
		assert_true(range_is_set(bm, s->ext_offset, s->ext_len));
		for (uint64_t j = 0; j < k; j++) {
			const struct famfs_omf_extent *o = &ie->ie_strips[j];

			assert_true(s->ext_offset + s->ext_len <= o->ext_offset ||
				    o->ext_offset + o->ext_len <= s->ext_offset);
		}
	}
	for (uint64_t k = nstrips; k < FAMFS_MAX_STRIPS; k++) {
		assert_int_equal(ie->ie_strips[k].ext_offset, 0);
		assert_int_equal(ie->ie_strips[k].ext_len, 0);
	}
}

static void famfs_alloc_interleaved_matches_worked_example(void **state)
{
	struct famfs_bitmap bm;
	struct famfs_omf_fmap f;
	uint64_t cursor = 0, nset;

	(void)state;
	init_4g(&bm);
	/* "Bucket 0 was already used up to 16 MiB by earlier files." */
	assert_int_equal(famfs_bitmap_mark(&bm, RESERVED, 16 * MIB - RESERVED), 0);
	nset = bm.nset;
	assert_int_equal(famfs_alloc_interleaved(&bm, EXAMPLE_SIZE, &example_params, &cursor, &f),
			 0);
	/* alloc = 11 units, stripe = 3 chunks, nstripes = 4 -> strip_len = 8 MiB. */
	check_strips(&bm, &f, 3, 2 * MIB, 8 * MIB, 1 * GIB);
	assert_int_equal(bm.nset, nset + 3 * 4);
	assert_int_equal(count_set(&bm), bm.nset);
	/* Each strip is the first fit of its bucket. */
	for (uint64_t k = 0; k < 3; k++) {
		uint64_t off = f.ie[0].ie_strips[k].ext_offset;

		assert_int_equal(off, off < GIB ? 16 * MIB : off / GIB * GIB);
	}
	/* Replaying the entry's map collides on every unit it owns. */
	assert_int_equal(famfs_bitmap_mark_fmap(&bm, &f), 12);
	famfs_bitmap_clear_fmap(&bm, &f);
	assert_int_equal(bm.nset, nset);
	famfs_bitmap_fini(&bm);
}

static void famfs_alloc_interleaved_reaches_reference_placement(void **state)
{
	static const uint64_t want[3] = {0x1000000, 0x40000000, 0x80000000};
	struct famfs_bitmap bm;
	struct famfs_omf_fmap f;
	int found = 0;

	(void)state;
	/* Some bucket order reproduces the reference image's strips exactly. */
	for (unsigned int seed = 1; seed <= 2000 && !found; seed++) {
		struct famfs_alloc_params p = example_params;
		uint64_t cursor = 0;

		p.seed = seed;
		init_4g(&bm);
		famfs_bitmap_mark(&bm, RESERVED, 16 * MIB - RESERVED);
		assert_int_equal(famfs_alloc_interleaved(&bm, EXAMPLE_SIZE, &p, &cursor, &f), 0);
		check_strips(&bm, &f, 3, 2 * MIB, 8 * MIB, 1 * GIB);
		found = 1;
		for (int k = 0; k < 3; k++)
			if (f.ie[0].ie_strips[k].ext_offset != want[k] ||
			    f.ie[0].ie_strips[k].ext_len != 0x800000)
				found = 0;
		famfs_bitmap_fini(&bm);
	}
	assert_true(found);
}

static void famfs_alloc_interleaved_every_seed_uses_distinct_buckets(void **state)
{
	struct famfs_bitmap bm;
	struct famfs_omf_fmap f;
	unsigned int orders = 0;
	uint64_t first_seen = 0;

	(void)state;
	for (unsigned int seed = 1; seed <= 64; seed++) {
		struct famfs_alloc_params p = example_params;
		uint64_t cursor = 0;

		p.seed = seed;
		init_4g(&bm);
		assert_int_equal(famfs_alloc_interleaved(&bm, EXAMPLE_SIZE, &p, &cursor, &f), 0);
		check_strips(&bm, &f, 3, 2 * MIB, 8 * MIB, 1 * GIB);
		/* The seed changes the order: more than one first bucket shows up. */
		if (!(first_seen & (1ULL << (f.ie[0].ie_strips[0].ext_offset / GIB)))) {
			first_seen |= 1ULL << (f.ie[0].ie_strips[0].ext_offset / GIB);
			orders++;
		}
		famfs_bitmap_fini(&bm);
	}
	assert_true(orders > 1);
}

static void famfs_alloc_interleaved_same_seed_same_placement(void **state)
{
	struct famfs_bitmap a, b;
	struct famfs_omf_fmap fa, fb;

	(void)state;
	init_4g(&a);
	init_4g(&b);
	for (int k = 0; k < 5; k++) {
		uint64_t ca = 0, cb = 0;

		assert_int_equal(
		    famfs_alloc_interleaved(&a, EXAMPLE_SIZE, &example_params, &ca, &fa), 0);
		assert_int_equal(
		    famfs_alloc_interleaved(&b, EXAMPLE_SIZE, &example_params, &cb, &fb), 0);
		assert_memory_equal(&fa, &fb, sizeof(fa));
	}
	assert_int_equal(a.nset, b.nset);
	assert_memory_equal(a.words, b.words, (a.nbits + 63) / 64 * sizeof(uint64_t));
	famfs_bitmap_fini(&a);
	famfs_bitmap_fini(&b);
}

static void famfs_alloc_interleaved_small_file_falls_back_to_contig(void **state)
{
	struct famfs_bitmap bm;
	struct famfs_omf_fmap f;
	struct famfs_alloc_params p = example_params;
	uint64_t cursor = 0;

	(void)state;
	init_4g(&bm);
	assert_int_equal(famfs_alloc_interleaved(&bm, 2 * MIB - 1, &p, &cursor, &f), 0);
	assert_int_equal(f.fmap_ext_type, FAMFS_EXT_SIMPLE);
	assert_int_equal(f.fmap_count, 1);
	assert_int_equal(f.se[0].ext_offset, RESERVED);
	assert_int_equal(f.se[0].ext_len, 2 * MIB);
	assert_int_equal(cursor, RESERVED + 2 * MIB);

	/* 8 MiB chunks: a 7 MiB file is one simple extent of 8 MiB (rounded to the unit). */
	p.chunk_size = 8 * MIB;
	assert_int_equal(famfs_alloc_interleaved(&bm, 7 * MIB, &p, &cursor, &f), 0);
	assert_int_equal(f.fmap_ext_type, FAMFS_EXT_SIMPLE);
	assert_int_equal(f.se[0].ext_offset, RESERVED + 2 * MIB);
	assert_int_equal(f.se[0].ext_len, 8 * MIB);

	/* Exactly one chunk is interleaved: one stripe, nstrips strips of one chunk. */
	assert_int_equal(famfs_alloc_interleaved(&bm, 8 * MIB, &p, &cursor, &f), 0);
	check_strips(&bm, &f, 3, 8 * MIB, 8 * MIB, 1 * GIB);
	famfs_bitmap_fini(&bm);
}

static void famfs_alloc_interleaved_skips_bucket_without_room(void **state)
{
	struct famfs_bitmap bm;
	struct famfs_omf_fmap f;

	(void)state;
	for (unsigned int seed = 1; seed <= 32; seed++) {
		struct famfs_alloc_params p = example_params;
		uint64_t cursor = 0;

		p.seed = seed;
		init_4g(&bm);
		/* Bucket 2 has only its last 6 MiB free, next to a free bucket 3: a strip of
		 * 8 MiB would fit only by straddling the boundary. */
		famfs_bitmap_mark(&bm, 2 * GIB, 1 * GIB - 6 * MIB);
		assert_int_equal(famfs_alloc_interleaved(&bm, EXAMPLE_SIZE, &p, &cursor, &f), 0);
		check_strips(&bm, &f, 3, 2 * MIB, 8 * MIB, 1 * GIB);
		for (int k = 0; k < 3; k++)
			assert_int_not_equal(f.ie[0].ie_strips[k].ext_offset / GIB, 2);
		famfs_bitmap_fini(&bm);
	}
}

static void famfs_alloc_interleaved_enospc_releases_strips(void **state)
{
	struct famfs_bitmap bm;
	struct famfs_omf_fmap f;
	size_t nwords;

	(void)state;
	for (unsigned int seed = 1; seed <= 32; seed++) {
		struct famfs_alloc_params p = example_params;
		uint64_t cursor = 0, nset;
		uint64_t *before;

		p.seed = seed;
		init_4g(&bm);
		nwords = (bm.nbits + 63) / 64;
		/* Buckets 1 and 2 are full: only 2 of the 4 buckets have room for 3 strips. */
		famfs_bitmap_mark(&bm, 1 * GIB, 2 * GIB);
		nset = bm.nset;
		before = malloc(nwords * sizeof(uint64_t));
		assert_non_null(before);
		memcpy(before, bm.words, nwords * sizeof(uint64_t));

		assert_int_equal(famfs_alloc_interleaved(&bm, EXAMPLE_SIZE, &p, &cursor, &f),
				 -ENOSPC);
		assert_int_equal(bm.nset, nset);
		assert_memory_equal(bm.words, before, nwords * sizeof(uint64_t));
		free(before);
		famfs_bitmap_fini(&bm);
	}
}

static void famfs_alloc_interleaved_rejects_bad_params(void **state)
{
	struct famfs_bitmap bm;
	struct famfs_omf_fmap f;
	struct famfs_alloc_params p = example_params;
	uint64_t cursor = 0;

	(void)state;
	init_4g(&bm);
	p.nstrips = 5;
	assert_int_equal(famfs_alloc_interleaved(&bm, EXAMPLE_SIZE, &p, &cursor, &f), -EINVAL);
	p = example_params;
	p.chunk_size = 3 * MIB;
	assert_int_equal(famfs_alloc_interleaved(&bm, EXAMPLE_SIZE, &p, &cursor, &f), -EINVAL);
	/* Even a file small enough to fall back is refused with bad parameters. */
	assert_int_equal(famfs_alloc_interleaved(&bm, 4096, &p, &cursor, &f), -EINVAL);
	p = example_params;
	p.nbuckets = 8; /* 512 MiB buckets */
	assert_int_equal(famfs_alloc_interleaved(&bm, EXAMPLE_SIZE, &p, &cursor, &f), -EINVAL);
	assert_int_equal(bm.nset, 5);
	assert_int_equal(cursor, 0);
	famfs_bitmap_fini(&bm);
}

static void famfs_alloc_params_interleaved_detects_request(void **state)
{
	struct famfs_alloc_params p = {0};

	(void)state;
	assert_false(famfs_alloc_params_interleaved(NULL));
	assert_false(famfs_alloc_params_interleaved(&p));
	p.seed = 5; /* a seed alone is not a request */
	assert_false(famfs_alloc_params_interleaved(&p));
	p.nstrips = 1;
	assert_true(famfs_alloc_params_interleaved(&p));
	p = (struct famfs_alloc_params){.chunk_size = 2 * MIB};
	assert_true(famfs_alloc_params_interleaved(&p));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(famfs_bitmap_init_marks_reserved_range),
	    cmocka_unit_test(famfs_bitmap_init_rounds_capacity_up),
	    cmocka_unit_test(famfs_bitmap_mark_returns_collisions),
	    cmocka_unit_test(famfs_bitmap_mark_ignores_units_past_capacity),
	    cmocka_unit_test(famfs_bitmap_clear_frees_units),
	    cmocka_unit_test(famfs_bitmap_mark_fmap_counts_every_extent),
	    cmocka_unit_test(famfs_alloc_contig_rounds_up_to_unit),
	    cmocka_unit_test(famfs_alloc_packed_fills_one_block_and_never_crosses_it),
	    cmocka_unit_test(famfs_alloc_contig_on_pages_skips_partly_used_blocks),
	    cmocka_unit_test(famfs_alloc_extend_grows_in_place_inside_the_block),
	    cmocka_unit_test(famfs_alloc_contig_advances_cursor),
	    cmocka_unit_test(famfs_alloc_contig_wraps_to_start),
	    cmocka_unit_test(famfs_alloc_contig_never_returns_offset_zero),
	    cmocka_unit_test(famfs_alloc_contig_enospc_when_full),
	    cmocka_unit_test(famfs_alloc_contig_enospc_when_fragmented),
	    cmocka_unit_test(famfs_alloc_params_check_accepts_valid),
	    cmocka_unit_test(famfs_alloc_params_check_rejects_each_bad_parameter),
	    cmocka_unit_test(famfs_alloc_params_check_why_names_the_field),
	    cmocka_unit_test(famfs_alloc_interleaved_matches_worked_example),
	    cmocka_unit_test(famfs_alloc_interleaved_reaches_reference_placement),
	    cmocka_unit_test(famfs_alloc_interleaved_every_seed_uses_distinct_buckets),
	    cmocka_unit_test(famfs_alloc_interleaved_same_seed_same_placement),
	    cmocka_unit_test(famfs_alloc_interleaved_small_file_falls_back_to_contig),
	    cmocka_unit_test(famfs_alloc_interleaved_skips_bucket_without_room),
	    cmocka_unit_test(famfs_alloc_interleaved_enospc_releases_strips),
	    cmocka_unit_test(famfs_alloc_interleaved_rejects_bad_params),
	    cmocka_unit_test(famfs_alloc_params_interleaved_detects_request),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
