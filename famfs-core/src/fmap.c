/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file fmap.c
 * @brief File offset to device offset through an extent map (declared in famfs/io.h).
 *
 * Kept apart from io.c so that the direct-mapping library (and the preload library built
 * from it) walks maps with the very same rule as famfs-core's I/O.
 */
#include <errno.h>
#include <stdint.h>

#include "famfs/io.h"

int famfs_fmap_resolve(const struct famfs_omf_fmap *fmap, uint64_t off, uint64_t *dev_off,
		       uint64_t *contig)
{
	if (fmap->fmap_ext_type == FAMFS_EXT_SIMPLE) {
		uint64_t base = 0;

		for (uint32_t k = 0; k < fmap->fmap_count && k < FAMFS_MAX_SIMPLE_EXT; k++) {
			const struct famfs_omf_extent *e = &fmap->se[k];

			if (off < base + e->ext_len) {
				*dev_off = e->ext_offset + (off - base);
				*contig = e->ext_len - (off - base);
				return 0;
			}
			base += e->ext_len;
		}
		return -ERANGE;
	}
	if (fmap->fmap_ext_type == FAMFS_EXT_INTERLEAVE && fmap->fmap_count == 1) {
		const struct famfs_omf_interleave *ie = &fmap->ie[0];
		uint64_t n = ie->ie_nstrips, c = ie->ie_chunk_size;
		uint64_t chunk, stripe, strip, in;

		if (n == 0 || n > FAMFS_MAX_STRIPS || c == 0)
			return -EINVAL;
		chunk = off / c;
		stripe = chunk / n;
		strip = chunk % n;
		in = stripe * c + off % c;
		if (in >= ie->ie_strips[strip].ext_len)
			return -ERANGE;
		*dev_off = ie->ie_strips[strip].ext_offset + in;
		*contig = c - off % c;
		return 0;
	}
	return -EINVAL;
}

uint64_t famfs_fmap_capacity(const struct famfs_omf_fmap *fmap)
{
	uint64_t total = 0;

	if (fmap->fmap_ext_type == FAMFS_EXT_SIMPLE) {
		for (uint32_t k = 0; k < fmap->fmap_count && k < FAMFS_MAX_SIMPLE_EXT; k++)
			total += fmap->se[k].ext_len;
	} else if (fmap->fmap_count == 1 && fmap->ie[0].ie_nstrips <= FAMFS_MAX_STRIPS &&
		   fmap->ie[0].ie_chunk_size) {
		const struct famfs_omf_interleave *ie = &fmap->ie[0];
		uint64_t per = UINT64_MAX;

		/* Whole stripes only: chunk i lives in strip i % n. */
		for (uint64_t k = 0; k < ie->ie_nstrips; k++) {
			uint64_t s = ie->ie_strips[k].ext_len / ie->ie_chunk_size;

			if (s < per)
				per = s;
		}
		if (ie->ie_nstrips)
			total = per * ie->ie_nstrips * ie->ie_chunk_size;
	}
	return total;
}
