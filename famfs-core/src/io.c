/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file io.c
 * @brief Extent-mapped read and write (see famfs/io.h).
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "famfs/cache.h"
#include "famfs/dev.h"
#include "famfs/fs.h"
#include "famfs/io.h"
#include "famfs/ns.h"

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

/* Walk [off, off+len) of @ino, calling @fn on each device-contiguous piece. */
static ssize_t walk(struct famfs_fs *fs, const struct famfs_inode *ino, uint64_t off,
		    size_t len, int (*fn)(uint8_t *dev, size_t n, size_t done, void *arg),
		    void *arg)
{
	const struct famfs_dev *dev = famfs_fs_dev(fs);
	size_t done = 0;

	if (S_ISDIR(ino->mode))
		return -EISDIR;
	if (off >= ino->size)
		return 0;
	if (len > ino->size - off)
		len = (size_t)(ino->size - off);
	while (done < len) {
		uint64_t doff, contig;
		size_t n;
		int rc = famfs_fmap_resolve(&ino->fmap, off + done, &doff, &contig);

		if (rc)
			return done ? (ssize_t)done : rc;
		n = len - done;
		if (n > contig)
			n = (size_t)contig;
		if (doff + n > dev->size)
			return done ? (ssize_t)done : -ERANGE;
		rc = fn(dev->base + doff, n, done, arg);
		if (rc)
			return done ? (ssize_t)done : rc;
		done += n;
	}
	return (ssize_t)done;
}

struct rd_arg {
	uint8_t *buf;
	unsigned int flags;
};

static int rd_piece(uint8_t *dev, size_t n, size_t done, void *arg)
{
	struct rd_arg *a = arg;

	if (a->flags & FAMFS_IO_INVALIDATE)
		famfs_cache_invalidate(dev, n);
	memcpy(a->buf + done, dev, n);
	return 0;
}

ssize_t famfs_file_read(struct famfs_fs *fs, const struct famfs_inode *ino, uint64_t off,
			void *buf, size_t len, unsigned int flags)
{
	struct rd_arg a = { buf, flags };

	return walk(fs, ino, off, len, rd_piece, &a);
}

static int wr_piece(uint8_t *dev, size_t n, size_t done, void *arg)
{
	memcpy(dev, (const uint8_t *)arg + done, n);
	famfs_cache_flush(dev, n);
	return 0;
}

ssize_t famfs_file_write(struct famfs_fs *fs, const struct famfs_inode *ino, uint64_t off,
			 const void *buf, size_t len)
{
	if (famfs_fs_dev(fs)->readonly)
		return -EROFS;
	if (len && off >= ino->size && !S_ISDIR(ino->mode))
		return -EFBIG;
	return walk(fs, ino, off, len, wr_piece, (void *)buf);
}

int famfs_fmap_zero(struct famfs_fs *fs, const struct famfs_omf_fmap *fmap, uint64_t off,
		    uint64_t len)
{
	const struct famfs_dev *dev = famfs_fs_dev(fs);

	while (len) {
		uint64_t doff, contig, n;
		int rc = famfs_fmap_resolve(fmap, off, &doff, &contig);

		if (rc)
			return rc;
		n = len < contig ? len : contig;
		if (doff + n > dev->size)
			return -ERANGE;
		memset(dev->base + doff, 0, n);
		famfs_cache_flush(dev->base + doff, n);
		off += n;
		len -= n;
	}
	return 0;
}
