/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file path.h
 * @brief Relative paths inside a famfs ("dir/file").
 *
 * Owns: the rules for what a relpath may be. A path that cannot be held is refused,
 * never truncated: empty, absolute ("/x"), longer than FAMFS_PATH_MAX (4095) bytes, with
 * a component longer than FAMFS_NAME_MAX (255), with an empty, "." or ".." component, or
 * with a trailing '/'. Upstream's own entries (FILE, MKDIR) hold paths of at most
 * FAMFS_RELPATH_MAX (79) bytes; a longer path lives in extension entries, which name an
 * object by its parent's inode and its own name (famfs/omf_ext.h). Pure functions,
 * thread-safe.
 */
#ifndef FAMFS_PATH_H
#define FAMFS_PATH_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The longest relpath upstream's 80-byte log field (FILE, MKDIR) holds. */
#define FAMFS_RELPATH_MAX 79
/** The longest relpath of any object (Linux's PATH_MAX less the NUL). */
#define FAMFS_PATH_MAX 4095
/** The longest name of one component (Linux's NAME_MAX). */
#define FAMFS_NAME_MAX 255

/**
 * Check @p path against the relpath rules.
 * @return 0; -EINVAL (empty, absolute, bad component); -ENAMETOOLONG (over
 *         FAMFS_PATH_MAX bytes, or a component over FAMFS_NAME_MAX).
 */
int famfs_relpath_check(const char *path, char *why, size_t whylen);

/**
 * Split a checked relpath into its parent ("" for the root) and last component.
 * @param[out] parent buffer of FAMFS_PATH_MAX + 1 bytes
 * @return a pointer to the last component inside @p path.
 */
const char *famfs_relpath_split(const char *path, char *parent);

#ifdef __cplusplus
}
#endif
#endif /* FAMFS_PATH_H */
