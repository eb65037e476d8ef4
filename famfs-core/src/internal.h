/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file internal.h
 * @brief Private helpers shared by the famfs-core sources; not installed.
 */
#ifndef FAMFS_INTERNAL_H
#define FAMFS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "famfs/msg.h"

/** Emit a diagnostic through the installed callback. */
void famfs_msg(enum famfs_msg_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/** Write a reason into @p why (if not NULL). */
void famfs_why(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define famfs_err(...)	 famfs_msg(FAMFS_MSG_ERR, __VA_ARGS__)
#define famfs_warn(...)	 famfs_msg(FAMFS_MSG_WARNING, __VA_ARGS__)
#define famfs_info(...)	 famfs_msg(FAMFS_MSG_INFO, __VA_ARGS__)
#define famfs_debug(...) famfs_msg(FAMFS_MSG_DEBUG, __VA_ARGS__)

struct famfs_fs;
struct famfs_omf_fmap;

/**
 * Copy @p n bytes from @p src to device memory @p dst (zero it when @p src is NULL) and
 * flush them, surviving a memory error (SIGBUS).
 * @return 0, or -EIO with the faulting address in *@p fault.
 */
int fs_dev_fill(void *dst, const void *src, size_t n, void **fault);

/**
 * famfs_fmap_zero(), telling where a memory error stopped it.
 * @return 0, -ERANGE, or -EIO with the device offset of the fault in *@p bad_off.
 */
int fs_fmap_zero(struct famfs_fs *fs, const struct famfs_omf_fmap *fmap, uint64_t off, uint64_t len,
		 uint64_t *bad_off);

#define FAMFS_ROUND_UP(x, a) ((((x) + (a)-1) / (a)) * (a))

#endif /* FAMFS_INTERNAL_H */
