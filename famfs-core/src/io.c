/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file io.c
 * @brief Extent-mapped read and write (see famfs/io.h).
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>

#include "famfs/cache.h"
#include "famfs/dev.h"
#include "famfs/fs.h"
#include "famfs/guard.h"
#include "famfs/io.h"
#include "famfs/ns.h"
#include "internal.h"

int fs_dev_fill(void *dst, const void *src, size_t n, void **fault)
{
	int rc = famfs_guarded_copy(dst, src, n, fault, false);

	if (!rc)
		famfs_cache_flush(dst, n);
	return rc;
}

static void memerr(struct famfs_fs *fs, const struct famfs_inode *ino, const void *addr)
{
	struct famfs_inode *w = (struct famfs_inode *)ino; /* the flag is the inode's own */

	/* Readers in several threads may hit it at once: one of them says so. */
	if (!__atomic_exchange_n(&w->memerr, true, __ATOMIC_ACQ_REL))
		famfs_err("%s: memory error (SIGBUS) at device offset 0x%llx in inode %llu ('%s'); "
			  "the file now answers I/O errors",
			  famfs_fs_dev(fs)->path,
			  (unsigned long long)((const uint8_t *)addr - famfs_fs_dev(fs)->base),
			  (unsigned long long)ino->ino, ino->name);
}

/* Walk [off, off+len) of @ino, calling @fn on each device-contiguous piece. */
static ssize_t walk(struct famfs_fs *fs, const struct famfs_inode *ino, uint64_t off, size_t len,
		    int (*fn)(uint8_t *dev, size_t n, size_t done, void *arg), void *arg)
{
	const struct famfs_dev *dev = famfs_fs_dev(fs);
	size_t done = 0;

	if (S_ISDIR(ino->mode))
		return -EISDIR;
	if (ino->memerr)
		return -EIO;
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
		if (rc == -EIO)
			memerr(fs, ino, *(void **)arg);
		if (rc)
			return done ? (ssize_t)done : rc;
		done += n;
	}
	return (ssize_t)done;
}

/* Piece arguments start with the fault address, which walk() reports. */
struct rd_arg {
	void *fault;
	uint8_t *buf;
	unsigned int flags;
};

static int rd_piece(uint8_t *dev, size_t n, size_t done, void *arg)
{
	struct rd_arg *a = arg;

	return famfs_guarded_copy(a->buf + done, dev, n, &a->fault, a->flags & FAMFS_IO_INVALIDATE);
}

ssize_t famfs_file_read(struct famfs_fs *fs, const struct famfs_inode *ino, uint64_t off, void *buf,
			size_t len, unsigned int flags)
{
	struct rd_arg a = {NULL, buf, flags};

	return walk(fs, ino, off, len, rd_piece, &a);
}

struct wr_arg {
	void *fault;
	const uint8_t *buf;
};

static int wr_piece(uint8_t *dev, size_t n, size_t done, void *arg)
{
	struct wr_arg *a = arg;
	int rc = famfs_guarded_copy(dev, a->buf + done, n, &a->fault, false);

	if (!rc)
		famfs_cache_flush(dev, n);
	return rc;
}

ssize_t famfs_file_write(struct famfs_fs *fs, const struct famfs_inode *ino, uint64_t off,
			 const void *buf, size_t len)
{
	if (famfs_fs_dev(fs)->readonly)
		return -EROFS;
	if (len && off >= ino->size && !S_ISDIR(ino->mode))
		return -EFBIG;
	struct wr_arg a = {NULL, buf};

	return walk(fs, ino, off, len, wr_piece, &a);
}

int fs_fmap_zero(struct famfs_fs *fs, const struct famfs_omf_fmap *fmap, uint64_t off, uint64_t len,
		 uint64_t *bad_off)
{
	const struct famfs_dev *dev = famfs_fs_dev(fs);
	void *fault = NULL;

	while (len) {
		uint64_t doff, contig, n;
		int rc = famfs_fmap_resolve(fmap, off, &doff, &contig);

		if (rc)
			return rc;
		n = len < contig ? len : contig;
		if (doff + n > dev->size)
			return -ERANGE;
		if (fs_dev_fill(dev->base + doff, NULL, n, &fault)) {
			if (bad_off)
				*bad_off = (uint64_t)((uint8_t *)fault - dev->base);
			return -EIO;
		}
		off += n;
		len -= n;
	}
	return 0;
}

int famfs_fmap_zero(struct famfs_fs *fs, const struct famfs_omf_fmap *fmap, uint64_t off,
		    uint64_t len)
{
	return fs_fmap_zero(fs, fmap, off, len, NULL);
}
