/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file path.h
 * @brief Relative paths as the log stores them ("dir/file", at most 79 bytes).
 *
 * Owns: the rules for what a log relpath may be. A path the format cannot hold is
 * refused, never truncated: empty, absolute ("/x"), longer than 79 bytes, with an empty,
 * "." or ".." component, or with a trailing '/'. Pure functions, thread-safe.
 */
#ifndef FAMFS_PATH_H
#define FAMFS_PATH_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The longest relpath the 80-byte log field holds. */
#define FAMFS_RELPATH_MAX 79

/**
 * Check @p path against the log's relpath rules.
 * @return 0; -EINVAL (empty, absolute, bad component); -ENAMETOOLONG (over 79 bytes).
 */
int famfs_relpath_check(const char *path, char *why, size_t whylen);

/**
 * Split a checked relpath into its parent ("" for the root) and last component.
 * @param[out] parent buffer of FAMFS_RELPATH_MAX + 1 bytes
 * @return a pointer to the last component inside @p path.
 */
const char *famfs_relpath_split(const char *path, char *parent);

#ifdef __cplusplus
}
#endif
#endif /* FAMFS_PATH_H */
