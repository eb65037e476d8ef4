/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file msg.h
 * @brief famfs-core diagnostics go through one settable callback, never to a stream.
 *
 * Owns: the process-wide log callback. Invariant: the library never writes to stdout or
 * stderr itself; with no callback set, messages are dropped. Locking: the callback and
 * its argument are read atomically per message; set them before starting threads.
 */
#ifndef FAMFS_MSG_H
#define FAMFS_MSG_H

#ifdef __cplusplus
extern "C" {
#endif

/** Levels use syslog's numbers. */
enum famfs_msg_level {
	FAMFS_MSG_ERR = 3,
	FAMFS_MSG_WARNING = 4,
	FAMFS_MSG_NOTICE = 5,
	FAMFS_MSG_INFO = 6,
	FAMFS_MSG_DEBUG = 7,
};

typedef void (*famfs_msg_fn)(enum famfs_msg_level level, const char *msg, void *arg);

/** Install @p fn (NULL to silence the library) with an opaque @p arg passed back. */
void famfs_set_msg_fn(famfs_msg_fn fn, void *arg);

#ifdef __cplusplus
}
#endif
#endif /* FAMFS_MSG_H */
