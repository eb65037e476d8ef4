/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file fuse_fs.h
 * @brief The FUSE daemon of `famfs-gw mount`: famfs served from the mapped device to a
 *        CXL-attached host's kernel, through libfuse3's low-level API.
 *
 * Owns: the FUSE session and the table of inodes the kernel knows (one node per inode
 * number with its lookup count, the name it was last looked up under and the signature of
 * the extent map it saw). Everything else is famfs-core's shared file-system layer
 * (famfs/ll.h): this daemon translates requests into famfs_ll_* calls, attributes into
 * struct stat and -errno into replies, and never takes a famfs-core lock itself.
 *
 * Inode numbers: FUSE inode numbers are famfs inode numbers (the root is 1 in both), so
 * they are stable across hosts and daemon restarts. Open compares the map signature seen
 * at lookup with the current one; when the map changed (the file was resized here or by
 * another host) the kernel's cached pages of the file are dropped. Open files pin their
 * inode (famfs_ll_pin), so a removed open file stays readable until the last close.
 *
 * Coherency (non-coherent shared memory): writes are flushed from the CPU cache before
 * the reply; reads may invalidate first (--invalidate-reads). Cached pages of a file are
 * dropped at every open unless the mount asked for kernel_cache (the close-to-open rule
 * NFS clients follow). The shared layer's follower replays new log entries every
 * follow_ms and reports what changed; this daemon turns that into
 * fuse_lowlevel_notify_inval_entry (a removed or renamed name) and
 * fuse_lowlevel_notify_inval_inode (attributes, sizes, directories).
 *
 * Permissions: the kernel checks them (the mount always has default_permissions); new
 * objects belong to the caller, or to a setgid directory's group.
 *
 * Roles: a mount on the famfs master may change the namespace; any other mount is
 * read-only (the kernel mount is "ro" and every change answers EROFS).
 *
 * Locking: fm_data.lock protects the node table only; it is never held while calling
 * famfs-core or sending a notification to the kernel.
 */
#ifndef FAMFS_GW_FUSE_FS_H
#define FAMFS_GW_FUSE_FS_H

#include <stdbool.h>
#include <stdint.h>

#include "famfs/fs.h"
#include "famfs/msg.h"

/** What `famfs-gw mount` asks of the daemon. */
struct fm_opts {
	const char *device; /* for the messages and fsname= */
	const char *mountpoint;
	bool readonly;		     /* -r, or this host is not the master */
	bool kernel_cache;	     /* keep cached pages across opens when the map is unchanged */
	bool invalidate_reads;	     /* evict a range from the CPU cache before reading it */
	unsigned int follow_ms;	     /* log follow interval */
	unsigned int commit_ms;	     /* changes are logged within this (0: at once) */
	double timeout;		     /* entry and attribute timeout given to the kernel (s) */
	unsigned int read_ahead_kb;  /* the mount's read-ahead (0: the kernel's default) */
	const char *fuse_opts;	     /* extra -o options for libfuse/the kernel, or NULL */
	void (*on_ready)(void *arg); /* called once the mount is up (detach), or NULL */
	void *ready_arg;
	/* Where the daemon's messages go (printf-like). */
	void (*log)(enum famfs_msg_level level, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
	/* The "major:minor" of the mount at @mp (for its read-ahead): 1 found, else 0/-errno. */
	int (*devno_of)(const char *mp, char *buf, size_t len);
};

/**
 * Mount @p fs at opts->mountpoint and serve it until unmounted or SIGTERM/SIGINT/SIGHUP.
 * @return 0 after a clean stop, or -errno when the mount could not be set up (the
 *         reason is logged through famfs-core's message callback).
 */
int fm_serve(struct famfs_fs *fs, const struct fm_opts *opts);

#endif /* FAMFS_GW_FUSE_FS_H */
