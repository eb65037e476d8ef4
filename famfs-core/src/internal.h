/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file internal.h
 * @brief Private helpers shared by the famfs-core sources; not installed.
 */
#ifndef FAMFS_INTERNAL_H
#define FAMFS_INTERNAL_H

#include <stddef.h>

#include "famfs/msg.h"

/** Emit a diagnostic through the installed callback. */
void famfs_msg(enum famfs_msg_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/** Write a reason into @p why (if not NULL). */
void famfs_why(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define famfs_err(...)   famfs_msg(FAMFS_MSG_ERR, __VA_ARGS__)
#define famfs_warn(...)  famfs_msg(FAMFS_MSG_WARNING, __VA_ARGS__)
#define famfs_info(...)  famfs_msg(FAMFS_MSG_INFO, __VA_ARGS__)
#define famfs_debug(...) famfs_msg(FAMFS_MSG_DEBUG, __VA_ARGS__)

#define FAMFS_ROUND_UP(x, a) ((((x) + (a) - 1) / (a)) * (a))

#endif /* FAMFS_INTERNAL_H */
