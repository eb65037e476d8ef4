/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file fuse_fs.h
 * @brief The FUSE daemon of `famfs-gw mount`: famfs served from the mapped device to a
 *        CXL-attached host's kernel, through libfuse3's low-level API.
 *
 * Owns: the FUSE session, the table of inodes the kernel knows (one node per inode
 * number with its lookup count, the name it was last looked up under and the extent map
 * resolved at lookup), the open files (each pins its famfs inode, so a removed open file
 * stays readable and its space is not reused until the last close), and the log
 * follower thread.
 *
 * Inode numbers: FUSE inode numbers are famfs inode numbers (the root is 1 in both), so
 * they are stable across hosts and daemon restarts. The extent map of a file is kept
 * with its node from lookup on; open compares it with the log's current map. When the
 * map changed (the file was resized here or by another host) the node takes the new map
 * and the kernel's cached pages of the file are dropped. I/O always goes through the
 * current map under the namespace read lock, so a concurrent resize never lets a read
 * touch space that left the file.
 *
 * Coherency (non-coherent shared memory): writes are flushed from the CPU cache before
 * the reply (famfs_file_write); reads may invalidate first (--invalidate-reads). Cached
 * pages of a file are dropped at every open unless the mount asked for kernel_cache (the
 * close-to-open rule NFS clients follow). The follower replays new log entries every
 * follow_ms and tells the kernel what changed (fuse_lowlevel_notify_inval_entry for a
 * removed or renamed name, fuse_lowlevel_notify_inval_inode for changed attributes, sizes
 * and directories).
 *
 * Roles: a mount on the famfs master may change the namespace; any other mount is
 * read-only (the kernel mount is "ro" and every change answers EROFS).
 *
 * Locking: fm_data.lock protects the node table and the change list; it is never held
 * while calling into famfs-core's locks or while sending a notification to the kernel.
 * famfs-core serialises appends (famfs_fs_lock) and guards the namespace
 * (famfs_fs_rdlock).
 */
#ifndef FAMFS_GW_FUSE_FS_H
#define FAMFS_GW_FUSE_FS_H

#include <stdbool.h>
#include <stdint.h>

#include "famfs/fs.h"

/** What `famfs-gw mount` asks of the daemon. */
struct fm_opts {
	const char *device; /* for the messages and fsname= */
	const char *mountpoint;
	bool readonly;		     /* -r, or this host is not the master */
	bool kernel_cache;	     /* keep cached pages across opens when the map is unchanged */
	bool invalidate_reads;	     /* evict a range from the CPU cache before reading it */
	unsigned int follow_ms;	     /* log follow interval */
	double timeout;		     /* entry and attribute timeout given to the kernel (s) */
	unsigned int read_ahead_kb;  /* the mount's read-ahead (0: the kernel's default) */
	const char *fuse_opts;	     /* extra -o options for libfuse/the kernel, or NULL */
	void (*on_ready)(void *arg); /* called once the mount is up (detach), or NULL */
	void *ready_arg;
};

/**
 * Mount @p fs at opts->mountpoint and serve it until unmounted or SIGTERM/SIGINT/SIGHUP.
 * @return 0 after a clean stop, or -errno when the mount could not be set up (the
 *         reason is logged through famfs-core's message callback).
 */
int fm_serve(struct famfs_fs *fs, const struct fm_opts *opts);

#endif /* FAMFS_GW_FUSE_FS_H */
