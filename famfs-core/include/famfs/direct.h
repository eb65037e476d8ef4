/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file direct.h
 * @brief Direct mappings of famfs files for processes on a host attached to the memory.
 *
 * On a stock kernel a CXL host sees famfs through the FUSE daemon (famfs-gw mount), and
 * every byte would go through it. Instead, the daemon hands out each open file's extent
 * map and the device it lies on (the FAMFS_DIRECT_IOC_MAP ioctl on the FUSE file, answered
 * with struct famfs_direct_map), and this library maps the file's extents straight from
 * the device into one contiguous range of the caller's address space: one MAP_FIXED
 * mapping per extent (per chunk for an interleaved file), the range 2 MiB aligned.
 * The preload library libfamfs_direct.so puts it under unmodified programs.
 *
 * The map rule (after the FUSE famfs design): a map is fetched at each open and whenever
 * the caller revalidates; a map that differs from the one mapped (the file grew, shrank or
 * moved) is never read through: the caller maps again or falls back to plain I/O.
 *
 * Owns: the map format below (version 1), the device descriptors this process opened for
 * direct mappings (one per device and access mode, verified against the famfs superblock's
 * UUID once), and the mappings made by famfs_direct_open().
 * Refuses, with -errno and a message from famfs_direct_error(): a map of another version
 * (-EPROTO) or malformed (-EBADMSG), a device this process cannot open (its errno) or
 * that holds another famfs (-ENXIO), extents that the device cannot map (-EINVAL: devdax
 * maps only whole multiples of its alignment, so files packed at 4 KiB stay on FUSE).
 * Memory errors: famfs_direct_pread() copies under the SIGBUS guard of famfs/guard.h and
 * answers -EIO; a load by the caller from the mapping itself gets SIGBUS, as with any
 * mapping of failed memory.
 * Locking: the device table has its own mutex; a struct famfs_direct is immutable after
 * famfs_direct_open() and may be read from any thread.
 */
#ifndef FAMFS_DIRECT_H
#define FAMFS_DIRECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/types.h>

#include "famfs/omf.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FAMFS_DIRECT_MAGIC   0x50414d44u /* "DMAP" */
#define FAMFS_DIRECT_VERSION 1
#define FAMFS_DIRECT_DEV_MAX 256 /* device path, NUL included */

/** dm_flags */
#define FAMFS_DM_DAX	0x1 /* a devdax device: map whole multiples of dm_align only */
#define FAMFS_DM_RDONLY 0x2 /* the serving host is not the master: map read-only */

/**
 * A file's map as the daemon answers it. Little-endian, fixed size, version 1:
 *
 *   | off | size | field          | meaning                                           |
 *   |-----|------|----------------|---------------------------------------------------|
 *   |   0 |    4 | dm_magic       | FAMFS_DIRECT_MAGIC                                |
 *   |   4 |    2 | dm_version     | FAMFS_DIRECT_VERSION; readers refuse others       |
 *   |   6 |    2 | dm_flags       | FAMFS_DM_*                                        |
 *   |   8 |    8 | dm_ino         | the file's inode number                           |
 *   |  16 |    8 | dm_size        | file size in bytes when the map was taken         |
 *   |  24 |    8 | dm_dev_offset  | device byte where famfs byte 0 lies               |
 *   |  32 |    8 | dm_align       | mapping granule of the device (4096 for a file)   |
 *   |  40 |   16 | dm_fs_uuid     | the superblock's sb_uuid (checked on the device)  |
 *   |  56 |  256 | dm_dev         | device path as the daemon opened it, NUL-ended    |
 *   | 312 |  416 | dm_fmap        | the extent map, as famfs logs it (omf.h); extent  |
 *   |     |      |                | offsets count from famfs byte 0                   |
 */
struct famfs_direct_map {
	uint32_t dm_magic;
	uint16_t dm_version;
	uint16_t dm_flags;
	uint64_t dm_ino;
	uint64_t dm_size;
	uint64_t dm_dev_offset;
	uint64_t dm_align;
	uint8_t dm_fs_uuid[FAMFS_UUID_LEN];
	char dm_dev[FAMFS_DIRECT_DEV_MAX];
	struct famfs_omf_fmap dm_fmap;
};

_Static_assert(sizeof(struct famfs_omf_fmap) == 416, "famfs_omf_fmap size");
_Static_assert(offsetof(struct famfs_direct_map, dm_size) == 16, "dm_size");
_Static_assert(offsetof(struct famfs_direct_map, dm_fs_uuid) == 40, "dm_fs_uuid");
_Static_assert(offsetof(struct famfs_direct_map, dm_dev) == 56, "dm_dev");
_Static_assert(offsetof(struct famfs_direct_map, dm_fmap) == 312, "dm_fmap");
_Static_assert(sizeof(struct famfs_direct_map) == 728, "famfs_direct_map size");

/** The ioctl on an open file of a famfs FUSE mount that answers its map. */
#define FAMFS_DIRECT_IOC_MAP _IOR(0xfa, 0x01, struct famfs_direct_map)

/**
 * Check a map: magic, version, an extent map that addresses at least dm_size bytes.
 * @return 0; -EPROTO another version; -EBADMSG malformed.
 */
int famfs_direct_check(const struct famfs_direct_map *m);

/** Whether two maps describe the same file, size and extents (the revalidation rule). */
bool famfs_direct_same(const struct famfs_direct_map *a, const struct famfs_direct_map *b);

/**
 * Ask the famfs mount for the map of open file @p fd and check it.
 * @return 0; -ENOTTY not a file of a famfs mount; -ESTALE removed; -EIO the file had a
 *         memory error; what famfs_direct_check() answers.
 */
int famfs_direct_query(int fd, struct famfs_direct_map *m);

/** Whether every piece of the first @p len bytes of @p m can be mapped (granule, device). */
int famfs_direct_mappable(const struct famfs_direct_map *m, uint64_t len);

/**
 * Map bytes [off, off+len) of the file at @p addr (page-aligned; for devdax aligned to
 * dm_align) with MAP_FIXED, one mapping per device-contiguous piece. @p flags is
 * MAP_SHARED or MAP_PRIVATE. Bytes past the file's extents are left as they were.
 * @return 0 or -errno (the range may be partly replaced on failure).
 */
int famfs_direct_map_range(const struct famfs_direct_map *m, void *addr, uint64_t off, uint64_t len,
			   int prot, int flags);

/** A whole file mapped: its first dm_size bytes at @c addr. */
struct famfs_direct {
	struct famfs_direct_map map;
	uint8_t *addr; /* file byte 0 */
	uint64_t len;  /* bytes mapped: dm_size rounded up to the granule */
	int prot;
};

/**
 * Map the whole file that @p m describes (PROT_READ, or with PROT_WRITE on the master).
 * @return 0; -EROFS PROT_WRITE on a read-only map; device and mapping errors as above.
 */
int famfs_direct_open(const struct famfs_direct_map *m, int prot, struct famfs_direct **out);

/** Unmap; NULL is allowed. */
void famfs_direct_close(struct famfs_direct *d);

/**
 * Copy up to @p len bytes at @p off from the mapping; short at the end of the map.
 * @return bytes copied or -EIO (a memory error under the mapping).
 */
ssize_t famfs_direct_pread(const struct famfs_direct *d, void *buf, size_t len, uint64_t off);

/** Make what the caller stored in [addr, addr+len) visible to other hosts (cache flush). */
void famfs_direct_flush(const void *addr, size_t len);

/** Drop cached lines of [addr, addr+len) so the next loads see other hosts' stores. */
void famfs_direct_invalidate(const void *addr, size_t len);

/** What the last failing call of this thread found wrong (a full sentence). */
const char *famfs_direct_error(void);

#ifdef __cplusplus
}
#endif
#endif /* FAMFS_DIRECT_H */
