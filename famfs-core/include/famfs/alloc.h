/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file alloc.h
 * @brief The allocation bitmap and the contiguous and interleaved allocators.
 *
 * Owns: one bit per @unit bytes of the capacity recorded in the superblock
 * (sb_daxdev.dd_size). famfs-core's view uses 4 KiB bits (FAMFS_ALLOC_UNIT_SMALL), so that
 * small files cost what they hold; large allocations still start and end on @align
 * (2 MiB: huge-page mappings, and the extents upstream kernels map). Nothing is persisted:
 * the bitmap is rebuilt from the log, with the superblock region and the log marked as
 * used. The rules:
 *  - contiguous: one simple extent of round_up(size, align) bytes at an @align boundary,
 *    first fit from a cursor that starts at 0 for each locked session and moves past each
 *    allocation (upstream's rule);
 *  - packed (files smaller than @align): round_up(size, unit) bytes that never cross an
 *    @align boundary, first fit from @small_cursor (its owner resets it to 0 with the
 *    contiguous cursor), so that small files fill the same 2 MiB blocks and the holes
 *    freed space leaves, and whole blocks stay for large files;
 *  - interleaved: the device is cut into nbuckets buckets; nstrips strips of
 *    nstripes * chunk bytes are taken first-fit inside distinct buckets visited in a
 *    random order; a file smaller than one chunk falls back to contiguous.
 * Locking: none inside; the owner serialises (the log lock for allocation).
 */
#ifndef FAMFS_ALLOC_H
#define FAMFS_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "famfs/omf.h"

#ifdef __cplusplus
extern "C" {
#endif

struct famfs_bitmap {
	uint64_t unit;	       /* bytes per bit */
	uint64_t align;	       /* large allocations start and end here: max(unit, 2 MiB) */
	uint64_t small_cursor; /* where the next packed allocation starts looking */
	uint64_t hint;	       /* every bit below this one is set (searches start here) */
	uint64_t nbits;	       /* ceil(capacity / unit) */
	uint64_t nset;	       /* bits set, reserved ones included */
	uint64_t reserved;     /* bits of the superblock region and log */
	uint64_t *words;
};

/** Interleave geometry; all zero means contiguous allocation. */
struct famfs_alloc_params {
	uint32_t nbuckets;   /* 1..64 */
	uint32_t nstrips;    /* 1..nbuckets, at most 16 */
	uint64_t chunk_size; /* power of two, multiple of the unit */
	unsigned int seed;   /* bucket order; 0 picks one from the clock */
	/* A file created smaller than 2 MiB gets packed pages, in one extension entry
	 * (upstream hosts do not see it); otherwise it is 2 MiB-aligned, in upstream form
	 * where it can be. Not part of the interleave geometry. */
	bool pack;
};

/** Size the bitmap for @p capacity bytes and mark [0, @p reserved_bytes). 0 or -ENOMEM. */
int famfs_bitmap_init(struct famfs_bitmap *bm, uint64_t capacity, uint64_t unit,
		      uint64_t reserved_bytes);
void famfs_bitmap_fini(struct famfs_bitmap *bm);

/**
 * Mark [off, off+len) used.
 * @return the number of units that were already used (allocation collisions); units past
 *         the capacity are not marked and not counted.
 */
uint64_t famfs_bitmap_mark(struct famfs_bitmap *bm, uint64_t off, uint64_t len);
/** Mark every extent or strip of @p fmap; returns the collisions as famfs_bitmap_mark(). */
uint64_t famfs_bitmap_mark_fmap(struct famfs_bitmap *bm, const struct famfs_omf_fmap *fmap);
/** Mark [off, off+len) free again. */
void famfs_bitmap_clear(struct famfs_bitmap *bm, uint64_t off, uint64_t len);
/** Release every extent or strip of @p fmap. */
void famfs_bitmap_clear_fmap(struct famfs_bitmap *bm, const struct famfs_omf_fmap *fmap);
/** Bytes not yet allocated. */
uint64_t famfs_bitmap_free_bytes(const struct famfs_bitmap *bm);

/**
 * Contiguous first fit of round_up(@p size, align) bytes at an align boundary from
 * *@p cursor (wrapping once).
 * On success the range is marked, *@p cursor moves past it and @p out holds one simple
 * extent. @return 0 or -ENOSPC.
 */
int famfs_alloc_contig(struct famfs_bitmap *bm, uint64_t size, uint64_t *cursor,
		       struct famfs_omf_fmap *out);

/**
 * Packed first fit of round_up(@p size, unit) bytes (@p size < align) inside one align
 * block, from bm->small_cursor (wrapping once). @return 0 (@p out holds one simple
 * extent, marked used), -EINVAL (size 0 or not small) or -ENOSPC.
 */
int famfs_alloc_packed(struct famfs_bitmap *bm, uint64_t size, struct famfs_omf_fmap *out);

/**
 * Extend in place: mark [@p off, @p off + @p len) used when all of it is free and, for a
 * packed extent, it stays inside the align block of @p off - 1; a large extent (@p off
 * and @p len multiples of align) grows by whole blocks.
 * @return 0 or -ENOSPC (nothing marked).
 */
int famfs_alloc_extend(struct famfs_bitmap *bm, uint64_t off, uint64_t len);

/**
 * Check interleave parameters against a device of @p capacity bytes.
 * @return 0 or -EINVAL with the reason in @p why.
 */
int famfs_alloc_params_check(const struct famfs_alloc_params *p, uint64_t capacity, uint64_t unit,
			     char *why, size_t whylen);

/**
 * Interleaved allocation (falls back to contiguous when @p size < chunk_size).
 * @return 0; -EINVAL bad parameters; -ENOSPC fewer than nstrips strips fit.
 */
int famfs_alloc_interleaved(struct famfs_bitmap *bm, uint64_t size,
			    const struct famfs_alloc_params *p, uint64_t *cursor,
			    struct famfs_omf_fmap *out);

/** True when @p p asks for interleaving. */
static inline int famfs_alloc_params_interleaved(const struct famfs_alloc_params *p)
{
	return p && (p->nbuckets || p->nstrips || p->chunk_size);
}

#ifdef __cplusplus
}
#endif
#endif /* FAMFS_ALLOC_H */
