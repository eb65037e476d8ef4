/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file io.h
 * @brief Byte-range I/O on a file through its extent map (simple or interleaved).
 *
 * Owns: the translation of a file offset to a device offset. Simple extents are walked in
 * order; interleaved files follow the kernel's chunk rule:
 *   chunk = o / C, stripe = chunk / N, strip = chunk % N,
 *   dev = strips[strip].offset + stripe * C + o % C.
 * I/O is bounded by the file size and by the allocation; writes are flushed from the CPU
 * cache line by line before returning. A memory error (SIGBUS) under a copy is caught:
 * the call returns -EIO (or the bytes done before it), the error is logged once, and the
 * file answers -EIO from then on; every other file keeps working. This installs a
 * process-wide SIGBUS handler at the first I/O, which passes on signals it does not own.
 * Locking: none; callers keep the inode alive.
 */
#ifndef FAMFS_IO_H
#define FAMFS_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "famfs/guard.h" /* famfs_io_guard_install() */
#include "famfs/omf.h"

#ifdef __cplusplus
extern "C" {
#endif

struct famfs_fs;
struct famfs_inode;

/**
 * Map file offset @p off to a device offset.
 * @param[out] dev_off  device byte offset of @p off
 * @param[out] contig   bytes from there that stay contiguous on the device
 * @return 0 or -ERANGE when @p off is past the allocation, -EINVAL for a bad map.
 */
int famfs_fmap_resolve(const struct famfs_omf_fmap *fmap, uint64_t off, uint64_t *dev_off,
		       uint64_t *contig);

/** Bytes of device space that @p fmap can address as file content. */
uint64_t famfs_fmap_capacity(const struct famfs_omf_fmap *fmap);

/** Read flags. */
#define FAMFS_IO_INVALIDATE 0x1 /* evict the range from the cache first (another host wrote) */

/**
 * Read up to @p len bytes at @p off; short at end of file.
 * @return bytes read (0 at or past EOF) or -errno (-EISDIR, -EINVAL, -ERANGE).
 */
ssize_t famfs_file_read(struct famfs_fs *fs, const struct famfs_inode *ino, uint64_t off, void *buf,
			size_t len, unsigned int flags);

/**
 * Write @p len bytes at @p off inside the file's current size; flushed before returning.
 * @return bytes written (short when the range crosses EOF) or -errno (-EROFS on a read-only
 *         mapping, -EFBIG at or past EOF). Clients may write data, as upstream allows.
 */
ssize_t famfs_file_write(struct famfs_fs *fs, const struct famfs_inode *ino, uint64_t off,
			 const void *buf, size_t len);

/** Zero file bytes [off, off+len) of @p fmap on the device (flushed). 0 or -ERANGE. */
int famfs_fmap_zero(struct famfs_fs *fs, const struct famfs_omf_fmap *fmap, uint64_t off,
		    uint64_t len);

#ifdef __cplusplus
}
#endif
#endif /* FAMFS_IO_H */
