/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file xfer.h
 * @brief Bulk copies between a host file and a famfs file's mapped extents (famfs-gw cp).
 *
 * Owns: the io_uring ring of one copy. Data moves straight between the host file and the
 * device mapping, in pieces of up to XFER_CHUNK that are contiguous on the device, with
 * XFER_DEPTH pieces in flight (the pieces of an interleaved file alternate strips, so its
 * strips fill in parallel). Into famfs, a source that is mostly not in the page cache is
 * read with O_DIRECT (the device memory is the DMA target); every piece is written back
 * from the CPU cache when it lands. Out of famfs, each piece is evicted from the CPU cache
 * before it is written (another host may have stored it); out of a device that is a
 * regular file (tests, demos), copy_file_range(2) moves the bytes instead.
 * When the kernel refuses io_uring the copy goes on with plain pread/pwrite, and says so
 * in the stats; a short read or write is resumed, and a source that ends early is an
 * error (-EIO, "shrank").
 * Locking: none; the caller keeps the extents allocated (pin or preallocation).
 */
#ifndef FAMFS_GW_XFER_H
#define FAMFS_GW_XFER_H

#include <stdbool.h>
#include <stdint.h>

#include "famfs/omf.h"

#define XFER_CHUNK (4u << 20)
#define XFER_DEPTH 8

/** O_DIRECT use for reads into famfs. */
enum xfer_direct {
	XFER_DIRECT_AUTO,   /* when under half of the source is in the page cache */
	XFER_DIRECT_NEVER,  /* always through the page cache */
	XFER_DIRECT_ALWAYS, /* whenever the source's file system takes it */
};

struct xfer_opts {
	enum xfer_direct direct;
	bool no_uring; /* plain pread/pwrite (the fallback, on purpose) */
	/* The device is a regular file standing in for one, open on @dev_fd with famfs byte
	 * 0 at @dev_offset: copies out go file to file with copy_file_range(2) (in the
	 * kernel, no mapping of 4 KiB pages to set up), falling back to io_uring. */
	bool dev_file;
	int dev_fd;
	uint64_t dev_offset;
	void (*progress)(void *arg, uint64_t done);
	void *arg;
};

/** What a copy did, for famfs-gw cp --json. */
struct xfer_stats {
	uint64_t bytes;
	bool uring;	 /* io_uring moved the bytes */
	bool cfr;	 /* copy_file_range(2) moved them (out of a device file) */
	bool direct;	 /* the source was read with O_DIRECT */
	char note[160];	 /* why io_uring or O_DIRECT was not used, when that was so */
	char error[200]; /* what failed, when a call returned an error */
};

/**
 * Copy @p size bytes of host file @p src into the extents @p fmap of the device mapped
 * at @p base.
 * @return 0; -errno of the open or of a read (-EIO the file shrank), with stats->error.
 */
int xfer_in(uint8_t *base, const struct famfs_omf_fmap *fmap, uint64_t size, const char *src,
	    const struct xfer_opts *o, struct xfer_stats *st);

/**
 * Copy @p size bytes of the extents @p fmap of the device mapped at @p base into the host
 * file open on @p fd (from offset 0).
 * @return 0 or -errno of a write, with stats->error.
 */
int xfer_out(const uint8_t *base, const struct famfs_omf_fmap *fmap, uint64_t size, int fd,
	     const struct xfer_opts *o, struct xfer_stats *st);

#endif /* FAMFS_GW_XFER_H */
