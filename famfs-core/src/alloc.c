/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file alloc.c
 * @brief Bitmap and allocators (see famfs/alloc.h for the rules).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "famfs/alloc.h"
#include "internal.h"

#define GIB (1024ULL * 1024 * 1024)

static inline int bit_test(const struct famfs_bitmap *bm, uint64_t b)
{
	return (bm->words[b / 64] >> (b % 64)) & 1;
}

static inline void bit_set(struct famfs_bitmap *bm, uint64_t b)
{
	bm->words[b / 64] |= 1ULL << (b % 64);
}

static inline void bit_clear(struct famfs_bitmap *bm, uint64_t b)
{
	bm->words[b / 64] &= ~(1ULL << (b % 64));
}

int famfs_bitmap_init(struct famfs_bitmap *bm, uint64_t capacity, uint64_t unit,
		      uint64_t reserved_bytes)
{
	memset(bm, 0, sizeof(*bm));
	bm->unit = unit;
	bm->align = unit > FAMFS_ALLOC_UNIT ? unit : FAMFS_ALLOC_UNIT;
	bm->nbits = (capacity + unit - 1) / unit;
	bm->words = calloc((bm->nbits + 63) / 64 + 1, sizeof(uint64_t));
	if (!bm->words)
		return -ENOMEM;
	famfs_bitmap_mark(bm, 0, reserved_bytes);
	bm->reserved = bm->nset;
	return 0;
}

void famfs_bitmap_fini(struct famfs_bitmap *bm)
{
	free(bm->words);
	memset(bm, 0, sizeof(*bm));
}

/* Move the hint past the bits that are set from it on. */
static void hint_advance(struct famfs_bitmap *bm)
{
	while (bm->hint < bm->nbits) {
		if (bm->hint % 64 == 0 && bm->words[bm->hint / 64] == ~0ULL)
			bm->hint += 64;
		else if (bit_test(bm, bm->hint))
			bm->hint++;
		else
			break;
	}
}

uint64_t famfs_bitmap_mark(struct famfs_bitmap *bm, uint64_t off, uint64_t len)
{
	uint64_t first = off / bm->unit;
	uint64_t n = (len + bm->unit - 1) / bm->unit;
	uint64_t collisions = 0;

	uint64_t end = first + n < bm->nbits ? first + n : bm->nbits;

	for (uint64_t b = first; b < end;) {
		if (b % 64 == 0 && b + 64 <= end) { /* a whole word at once */
			uint64_t used = (uint64_t)__builtin_popcountll(bm->words[b / 64]);

			collisions += used;
			bm->nset += 64 - used;
			bm->words[b / 64] = ~0ULL;
			b += 64;
			continue;
		}
		if (bit_test(bm, b)) {
			collisions++;
		} else {
			bit_set(bm, b);
			bm->nset++;
		}
		b++;
	}
	if (first <= bm->hint && bm->hint < end)
		hint_advance(bm);
	return collisions;
}

void famfs_bitmap_clear(struct famfs_bitmap *bm, uint64_t off, uint64_t len)
{
	uint64_t first = off / bm->unit;
	uint64_t n = (len + bm->unit - 1) / bm->unit;

	uint64_t end = first + n < bm->nbits ? first + n : bm->nbits;

	if (first < end && first < bm->hint)
		bm->hint = first;
	for (uint64_t b = first; b < end;) {
		if (b % 64 == 0 && b + 64 <= end) { /* a whole word at once */
			bm->nset -= (uint64_t)__builtin_popcountll(bm->words[b / 64]);
			bm->words[b / 64] = 0;
			b += 64;
			continue;
		}
		if (bit_test(bm, b)) {
			bit_clear(bm, b);
			bm->nset--;
		}
		b++;
	}
}

/* Call @fn on every extent or strip of @fmap. */
#define FOR_EACH_EXTENT(fmap, e, body)                                                             \
	do {                                                                                       \
		if ((fmap)->fmap_ext_type == FAMFS_EXT_SIMPLE) {                                   \
			for (uint32_t _k = 0;                                                      \
			     _k < (fmap)->fmap_count && _k < FAMFS_MAX_SIMPLE_EXT; _k++) {         \
				const struct famfs_omf_extent *e = &(fmap)->se[_k];                \
				body;                                                              \
			}                                                                          \
		} else if ((fmap)->fmap_count >= 1) {                                              \
			const struct famfs_omf_interleave *_ie = &(fmap)->ie[0];                   \
			for (uint64_t _k = 0; _k < _ie->ie_nstrips && _k < FAMFS_MAX_STRIPS;       \
			     _k++) {                                                               \
				const struct famfs_omf_extent *e = &_ie->ie_strips[_k];            \
				body;                                                              \
			}                                                                          \
		}                                                                                  \
	} while (0)

uint64_t famfs_bitmap_mark_fmap(struct famfs_bitmap *bm, const struct famfs_omf_fmap *fmap)
{
	uint64_t c = 0;

	FOR_EACH_EXTENT(fmap, e, c += famfs_bitmap_mark(bm, e->ext_offset, e->ext_len));
	return c;
}

void famfs_bitmap_clear_fmap(struct famfs_bitmap *bm, const struct famfs_omf_fmap *fmap)
{
	FOR_EACH_EXTENT(fmap, e, famfs_bitmap_clear(bm, e->ext_offset, e->ext_len));
}

uint64_t famfs_bitmap_free_bytes(const struct famfs_bitmap *bm)
{
	return (bm->nbits - bm->nset) * bm->unit;
}

/* Are bits [b, b+n) all free? */
static bool run_free(const struct famfs_bitmap *bm, uint64_t b, uint64_t n)
{
	if (b + n > bm->nbits || b + n < b)
		return false;
	for (uint64_t k = b; k < b + n; k++) {
		if (k % 64 == 0 && k + 64 <= b + n) {
			if (bm->words[k / 64])
				return false;
			k += 63;
		} else if (bit_test(bm, k)) {
			return false;
		}
	}
	return true;
}

/*
 * First run of @n free bits in [lo, hi) that starts on a multiple of @step bits and, when
 * @block is not 0, does not cross a multiple of @block bits. The first bit or UINT64_MAX.
 */
static uint64_t find_run(const struct famfs_bitmap *bm, uint64_t lo, uint64_t hi, uint64_t n,
			 uint64_t step, uint64_t block)
{
	uint64_t run = 0;

	if (hi > bm->nbits)
		hi = bm->nbits;
	if (lo < bm->hint)
		lo = bm->hint; /* every bit below it is set: no run starts there */
	if (step > 1) {
		for (uint64_t b = (lo + step - 1) / step * step; b + n <= hi; b += step)
			if (run_free(bm, b, n))
				return b;
		return UINT64_MAX;
	}
	for (uint64_t b = lo; b < hi; b++) {
		if (b % 64 == 0 && bm->words[b / 64] == ~0ULL && b + 64 <= hi) {
			run = 0;
			b += 63;
			continue;
		}
		if (block && b % block == 0)
			run = 0;
		if (bit_test(bm, b)) {
			run = 0;
			continue;
		}
		if (++run == n)
			return b + 1 - n;
	}
	return UINT64_MAX;
}

static void one_extent(struct famfs_omf_fmap *out, uint64_t off, uint64_t len)
{
	memset(out, 0, sizeof(*out));
	out->fmap_ext_type = FAMFS_EXT_SIMPLE;
	out->fmap_count = 1;
	out->se[0].ext_devindex = 0;
	out->se[0].ext_offset = off;
	out->se[0].ext_len = len;
}

int famfs_alloc_contig(struct famfs_bitmap *bm, uint64_t size, uint64_t *cursor,
		       struct famfs_omf_fmap *out)
{
	uint64_t step = bm->align / bm->unit;
	uint64_t n = (size + bm->align - 1) / bm->align * step;
	uint64_t start = *cursor / bm->unit;
	uint64_t b;

	if (n == 0)
		return -EINVAL;
	b = find_run(bm, start, bm->nbits, n, step, 0);
	if (b == UINT64_MAX && start)
		b = find_run(bm, 0, start + n - 1, n, step, 0);
	if (b == UINT64_MAX)
		return -ENOSPC;
	famfs_bitmap_mark(bm, b * bm->unit, n * bm->unit);
	one_extent(out, b * bm->unit, n * bm->unit);
	*cursor = (b + n) * bm->unit;
	return 0;
}

int famfs_alloc_packed(struct famfs_bitmap *bm, uint64_t size, struct famfs_omf_fmap *out)
{
	uint64_t block = bm->align / bm->unit;
	uint64_t n = (size + bm->unit - 1) / bm->unit;
	uint64_t start = bm->small_cursor / bm->unit;
	uint64_t b;

	if (n == 0 || size >= bm->align)
		return -EINVAL;
	b = find_run(bm, start, bm->nbits, n, 1, block);
	if (b == UINT64_MAX && start)
		b = find_run(bm, 0, start + n - 1, n, 1, block);
	if (b == UINT64_MAX)
		return -ENOSPC;
	famfs_bitmap_mark(bm, b * bm->unit, n * bm->unit);
	one_extent(out, b * bm->unit, n * bm->unit);
	bm->small_cursor = (b + n) * bm->unit;
	return 0;
}

int famfs_alloc_extend(struct famfs_bitmap *bm, uint64_t off, uint64_t len)
{
	uint64_t b = off / bm->unit, n = (len + bm->unit - 1) / bm->unit;

	bool large = off % bm->align == 0 && len % bm->align == 0;

	/* A packed extent stays inside its 2 MiB block; a large one grows by whole blocks. */
	if (!off || off % bm->unit || !n ||
	    (!large && (off - 1) / bm->align != (off + n * bm->unit - 1) / bm->align) ||
	    !run_free(bm, b, n))
		return -ENOSPC;
	famfs_bitmap_mark(bm, off, n * bm->unit);
	if (bm->small_cursor == off)
		bm->small_cursor = off + n * bm->unit;
	return 0;
}

int famfs_alloc_params_check(const struct famfs_alloc_params *p, uint64_t capacity, uint64_t unit,
			     char *why, size_t whylen)
{
	if (p->nbuckets < 1 || p->nbuckets > 64) {
		famfs_why(why, whylen, "nbuckets %u is outside 1..64", p->nbuckets);
		return -EINVAL;
	}
	if (p->nstrips < 1 || p->nstrips > p->nbuckets || p->nstrips > FAMFS_MAX_STRIPS) {
		famfs_why(why, whylen, "nstrips %u must be 1..min(nbuckets=%u, %d)", p->nstrips,
			  p->nbuckets, FAMFS_MAX_STRIPS);
		return -EINVAL;
	}
	if (!p->chunk_size || (p->chunk_size & (p->chunk_size - 1)) || p->chunk_size % unit) {
		famfs_why(why, whylen,
			  "chunk size %llu must be a power of two and a multiple of %llu",
			  (unsigned long long)p->chunk_size, (unsigned long long)unit);
		return -EINVAL;
	}
	if (capacity / p->nbuckets < GIB) {
		famfs_why(why, whylen,
			  "a bucket of %llu bytes is smaller than 1 GiB (device "
			  "%llu bytes / %u buckets)",
			  (unsigned long long)(capacity / p->nbuckets),
			  (unsigned long long)capacity, p->nbuckets);
		return -EINVAL;
	}
	return 0;
}

int famfs_alloc_interleaved(struct famfs_bitmap *bm, uint64_t size,
			    const struct famfs_alloc_params *p, uint64_t *cursor,
			    struct famfs_omf_fmap *out)
{
	uint64_t alloc, chunk, bucket, stripe, nstripes, strip_units;
	unsigned int order[64], seed;
	uint32_t got = 0;
	char why[160];
	int rc;

	rc = famfs_alloc_params_check(p, bm->nbits * bm->unit, bm->align, why, sizeof(why));
	if (rc) {
		famfs_err("interleaved allocation: %s", why);
		return rc;
	}
	if (size < p->chunk_size)
		return famfs_alloc_contig(bm, size, cursor, out);

	alloc = (size + bm->unit - 1) / bm->unit;
	chunk = p->chunk_size / bm->unit;
	bucket = bm->nbits / p->nbuckets;
	stripe = (uint64_t)p->nstrips * chunk;
	nstripes = (alloc + stripe - 1) / stripe;
	strip_units = nstripes * chunk;

	seed = p->seed ? p->seed : (unsigned int)time(NULL);
	for (unsigned int i = 0; i < p->nbuckets; i++)
		order[i] = i;
	for (unsigned int i = p->nbuckets - 1; i > 0; i--) {
		unsigned int j = (unsigned int)rand_r(&seed) % (i + 1);
		unsigned int t = order[i];

		order[i] = order[j];
		order[j] = t;
	}

	memset(out, 0, sizeof(*out));
	out->fmap_ext_type = FAMFS_EXT_INTERLEAVE;
	out->fmap_count = 1;
	out->ie[0].ie_chunk_size = p->chunk_size;
	for (unsigned int i = 0; i < p->nbuckets && got < p->nstrips; i++) {
		uint64_t lo = order[i] * bucket;
		uint64_t b = find_run(bm, lo, lo + bucket, strip_units, bm->align / bm->unit, 0);

		if (b == UINT64_MAX)
			continue;
		famfs_bitmap_mark(bm, b * bm->unit, strip_units * bm->unit);
		out->ie[0].ie_strips[got].ext_devindex = 0;
		out->ie[0].ie_strips[got].ext_offset = b * bm->unit;
		out->ie[0].ie_strips[got].ext_len = strip_units * bm->unit;
		got++;
	}
	out->ie[0].ie_nstrips = got;
	if (got < p->nstrips) {
		famfs_bitmap_clear_fmap(bm, out);
		memset(out, 0, sizeof(*out));
		return -ENOSPC;
	}
	return 0;
}
