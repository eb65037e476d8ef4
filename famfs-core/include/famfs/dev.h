/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file dev.h
 * @brief The memory device under a famfs: a devdax character device or a regular file.
 *
 * Owns: the open descriptor and the one MAP_SHARED mapping of the whole device (from
 * @c offset on). A devdax device is described by libdaxctl (size, alignment, mode); a
 * regular file stands in for one in tests and demos and is mapped the same way, so two
 * processes that map one file behave like two hosts sharing one CXL device.
 * Invariants: @c base maps @c size bytes; @c size is a multiple of 2 MiB. The struct is
 * immutable after famfs_dev_open(), so it may be read from any thread without a lock.
 */
#ifndef FAMFS_DEV_H
#define FAMFS_DEV_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct famfs_dev {
	int fd;		 /* open descriptor; also carries the host-local log lock */
	bool is_dax;	 /* a devdax character device */
	bool readonly;	 /* mapped PROT_READ only */
	uint64_t offset; /* where famfs byte 0 lies in the device or file */
	uint64_t size;	 /* bytes mapped (device size less offset) */
	uint64_t align;	 /* devdax alignment (0 for a file) */
	uint8_t *base;	 /* famfs byte 0 */
	void *map_addr;	 /* what mmap returned, for munmap */
	uint64_t map_len;
	char path[4096];
};

struct famfs_dev_opts {
	bool readonly;
	uint64_t offset; /* bytes to skip at the start; a multiple of 2 MiB */
};

/**
 * Open and map a device.
 * @return 0; -ENOENT no such path (or a devdax device in system-ram mode, said in the
 *         message); -ENODEV a character device that is not devdax; -EINVAL unaligned or
 *         bad offset; -ENOSPC too small to hold a famfs; other -errno from the system.
 */
int famfs_dev_open(const char *path, const struct famfs_dev_opts *opts, struct famfs_dev **out);

/** Unmap and close; NULL is allowed. */
void famfs_dev_close(struct famfs_dev *dev);

/**
 * Create a regular file of @p size bytes (sparse) to stand in for a device.
 * @return 0; -EEXIST if it exists; -EINVAL size not a multiple of 2 MiB or too small.
 */
int famfs_dev_create_file(const char *path, uint64_t size);

/** Smallest device that can hold a famfs with a @p log_len log and one allocation unit. */
uint64_t famfs_dev_min_size(uint64_t log_len);

#ifdef __cplusplus
}
#endif
#endif /* FAMFS_DEV_H */
