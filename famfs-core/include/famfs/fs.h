/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file fs.h
 * @brief An open famfs: device, superblock, log, the replayed namespace and the allocator.
 *
 * Owns: the device mapping, this process's view of the namespace (struct famfs_ns), the
 * allocation bitmap, and the replay cursor (the first log index not yet applied).
 *
 * Roles: the host whose system UUID equals the superblock's is the master; only the
 * master appends to the log. The system UUID comes from, in order: the @c system_uuid
 * option, the environment variable FAMFS_SYSTEM_UUID, the file named by
 * FAMFS_SYSTEM_UUID_FILE, or /opt/famfs/system_uuid (created with a random UUID when
 * missing, as upstream does).
 *
 * The log: an append writes the whole entry with its CRC, flushes exactly the cache lines
 * it wrote, then advances the header's next_seqnum/next_index and flushes that line. All
 * appenders of one host serialise on one lock: flock(LOCK_EX) on the device descriptor
 * (shared by every process that opens the same device or file) plus a per-handle mutex
 * for threads. Replay is incremental: famfs_fs_refresh() applies only the entries past the
 * cursor; each is validated (seqnum, CRC), and an invalid one is invalidated from the cache
 * and re-read once before replay stops at it (a torn or not-yet-visible entry).
 *
 * Locking: famfs_fs_lock() makes the caller the host's single appender (recursive in one
 * thread). The namespace is changed only by refresh and by appends; a process that reads
 * the namespace from several threads takes famfs_fs_rdlock() around its reads.
 */
#ifndef FAMFS_FS_H
#define FAMFS_FS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "famfs/alloc.h"
#include "famfs/dev.h"
#include "famfs/ns.h"
#include "famfs/omf.h"

#ifdef __cplusplus
extern "C" {
#endif

struct famfs_fs;

enum famfs_role {
	FAMFS_ROLE_MASTER = 1,
	FAMFS_ROLE_CLIENT = 2,
};

struct famfs_fs_opts {
	bool readonly;		 /* map the device read-only (forces client behaviour) */
	const char *system_uuid; /* textual UUID overriding the host's; NULL for default */
	uint64_t dev_offset;	 /* famfs byte 0 inside the device or file */
};

/** What replay has seen since open. */
struct famfs_replay_stats {
	uint64_t entries; /* entries applied (cursor) */
	uint64_t files;
	uint64_t dirs;
	uint64_t existed;    /* creates of a path that already existed: ignored */
	uint64_t rejected;   /* entries whose contents were unusable: skipped, logged */
	uint64_t other;	     /* entries of other types (ADD_DAXDEV, unknown): skipped */
	uint64_t collisions; /* allocation units claimed twice */
};

/**
 * Open a famfs on @p devpath and replay its log.
 * @return 0; -ENODATA no famfs on the device; -EPROTONOSUPPORT unsupported version;
 *         -EBADMSG a CRC mismatch in the superblock or log header; -EINVAL inconsistent
 *         fields; device errors as famfs_dev_open(). The reason is logged.
 */
int famfs_fs_open(const char *devpath, const struct famfs_fs_opts *opts, struct famfs_fs **out);
void famfs_fs_close(struct famfs_fs *fs);

const struct famfs_dev *famfs_fs_dev(const struct famfs_fs *fs);
const struct famfs_superblock *famfs_fs_sb(const struct famfs_fs *fs);
const struct famfs_log_header *famfs_fs_log(const struct famfs_fs *fs);
struct famfs_ns *famfs_fs_ns(struct famfs_fs *fs);
const struct famfs_bitmap *famfs_fs_bitmap(const struct famfs_fs *fs);
enum famfs_role famfs_fs_role(const struct famfs_fs *fs);
const uint8_t *famfs_fs_system_uuid(const struct famfs_fs *fs);
const struct famfs_replay_stats *famfs_fs_stats(const struct famfs_fs *fs);
/** Why replay stopped before the header's next_index, or NULL when it did not. */
const char *famfs_fs_replay_stall(const struct famfs_fs *fs);

/**
 * Apply the log entries that appeared since the last replay.
 * @return the number of entries applied (>= 0), or -EBADMSG when an entry stays invalid
 *         after one re-read (replay stops there; the cursor does not move past it).
 */
int famfs_fs_refresh(struct famfs_fs *fs);

/**
 * Become this host's appender (and refresh), waiting as long as it takes (a message
 * names the process that holds it). 0, -EROFS on a client, or -errno.
 */
int famfs_fs_lock(struct famfs_fs *fs);
#define FAMFS_LOCK_FOREVER (~0U)
/** famfs_fs_lock() that gives up after @p timeout_ms with -EAGAIN (servers: "retry"). */
int famfs_fs_lock_timed(struct famfs_fs *fs, unsigned int timeout_ms);
void famfs_fs_unlock(struct famfs_fs *fs);
void famfs_fs_rdlock(struct famfs_fs *fs);
void famfs_fs_rdunlock(struct famfs_fs *fs);

/**
 * Create a directory (one MKDIR entry); the parent must exist.
 * @return 0; -EROFS not the master; -EINVAL/-ENAMETOOLONG a path the format cannot hold;
 *         -ENOENT/-ENOTDIR parent; -EEXIST; -ENOSPC log full.
 */
int famfs_fs_mkdir(struct famfs_fs *fs, const char *relpath, mode_t mode, uid_t uid, gid_t gid,
		   struct famfs_inode **out);
/** mkdir -p: one MKDIR entry per missing component, parents first. */
int famfs_fs_mkdir_p(struct famfs_fs *fs, const char *relpath, mode_t mode, uid_t uid, gid_t gid,
		     struct famfs_inode **out);

/**
 * Allocate and log a file of @p size bytes (> 0). @p ap may be NULL (contiguous).
 * @return 0; errors as famfs_fs_mkdir(), plus -ENOSPC device full (the message says
 *         which) and -EINVAL size 0 or bad interleave parameters.
 */
int famfs_fs_creat(struct famfs_fs *fs, const char *relpath, uint64_t size, mode_t mode, uid_t uid,
		   gid_t gid, const struct famfs_alloc_params *ap, struct famfs_inode **out);

/**
 * Append one prepared entry (le_seqnum and le_crc are filled in here). The caller holds
 * famfs_fs_lock(). The entry is applied to this process's view on success.
 * @return 0; -ENOSPC log full; -EUCLEAN header counters disagree; -EROFS.
 */
int famfs_fs_append(struct famfs_fs *fs, struct famfs_log_entry *le);

/**
 * The linked inode numbered @p ino in this process's view, or NULL; takes the namespace
 * read lock itself. The pointer stays valid while it is linked or pinned, and while the
 * caller holds famfs_fs_lock() (removed inodes are freed when an appender session ends,
 * or by replay outside one); its fields change under replay: read them under
 * famfs_fs_rdlock(), or while holding famfs_fs_lock() on the master.
 */
struct famfs_inode *famfs_fs_get(struct famfs_fs *fs, uint64_t ino);

/**
 * The relpath of @p name in directory @p dir_ino, for a create or mkdir there.
 * @return 0; -ENOENT no such inode; -ENOTDIR; -EINVAL an empty name, ".", ".." or one
 *         with a '/'; -ENAMETOOLONG the path would not fit the log's 79 bytes (or @p len).
 */
int famfs_fs_child_relpath(struct famfs_fs *fs, uint64_t dir_ino, const char *name, char *buf,
			   size_t len);

/** Resolve a relpath in this process's view ("" is the root). */
int famfs_fs_resolve(struct famfs_fs *fs, const char *relpath, struct famfs_inode **out);

/**
 * Check what a FILE or MKDIR entry holds against the superblock: path rules, size,
 * extent count, alignment, extents inside the data area.
 * @return 0 or -EINVAL with the reason in @p why.
 */
int famfs_entry_check_payload(const struct famfs_log_entry *le, const struct famfs_superblock *sb,
			      char *why, size_t whylen);

/**
 * The host's system UUID (see the role rules above).
 * @return 0, -EINVAL a malformed override, or -errno reading/creating the file.
 */
int famfs_system_uuid(const char *override, uint8_t uuid[FAMFS_UUID_LEN]);

/* ------------------------------------------------------------------ changes (master) */

/**
 * Create a file of any size: a FILE entry (upstream-visible) when @p size > 0 and the map
 * fits upstream's rules, an XE_CREATE entry for an empty file. famfs_fs_creat() refuses
 * size 0 (upstream's rule); this is what an NFS or FUSE create uses.
 */
int famfs_fs_create(struct famfs_fs *fs, const char *relpath, uint64_t size, mode_t mode, uid_t uid,
		    gid_t gid, const struct famfs_alloc_params *ap, struct famfs_inode **out);

/**
 * Allocate the space of a file not created yet, so that it can be filled before anyone
 * sees it (famfs-gw cp: an interrupted copy leaves no file). The space is marked in this
 * process's bitmap and listed in its reservation area (no other process of the host
 * takes it), but not logged: if the process dies, it was never used. @p ap as for
 * famfs_fs_create() (pack: packed pages under 2 MiB). Takes the appender lock.
 * @return 0 with the map in @p out; -EEXIST/-ENOENT/-ENOTDIR as a create of @p relpath
 *         would; -EBUSY too many held (or no host slot); -EOPNOTSUPP an interleaved file
 *         at a path upstream's form cannot hold (create it, then fill it); -ENOSPC.
 */
int famfs_fs_prealloc(struct famfs_fs *fs, const char *relpath, uint64_t size,
		      const struct famfs_alloc_params *ap, struct famfs_omf_fmap *out);

/**
 * Create @p relpath with the preallocated map @p fmap and @p size, in one entry (FILE
 * where upstream can hold it, else XE_CREATE with its map). The preallocation is used up
 * whatever the result. Takes the appender lock.
 * @return 0; the errors of a create; -EINVAL @p fmap is not held by this process.
 */
int famfs_fs_create_prealloc(struct famfs_fs *fs, const char *relpath, uint64_t size, mode_t mode,
			     uid_t uid, gid_t gid, const struct famfs_omf_fmap *fmap,
			     struct famfs_inode **out);

/** Give back a preallocation that will not be created. Takes the appender lock. */
void famfs_fs_prealloc_free(struct famfs_fs *fs, const struct famfs_omf_fmap *fmap);

/**
 * Create an object that holds no data (one XE_MKNOD entry): a symbolic link to @p target
 * (1..FAMFS_XE_TARGET_MAX bytes), a fifo, a socket, or a device node with @p rdev.
 * @return 0; -EINVAL another type; -ENAMETOOLONG a target too long for the format;
 *         errors as famfs_fs_mkdir().
 */
int famfs_fs_mknod(struct famfs_fs *fs, const char *relpath, mode_t mode, uid_t uid, gid_t gid,
		   uint64_t rdev, const char *target, struct famfs_inode **out);

/** The most names one object may have (its own and its hard links). */
#define FAMFS_LINK_MAX 65000

/**
 * A hard link: @p relpath becomes one more name of object @p target (not a directory),
 * logged as XE_LINK. Takes the appender lock.
 * @return 0 (with the link name in @p out); -EEXIST/-ENOENT/-ENOTDIR as a create of
 *         @p relpath would; -ENOENT no such target; -EPERM a directory; -EMLINK.
 */
int famfs_fs_link(struct famfs_fs *fs, const char *relpath, uint64_t target,
		  struct famfs_inode **out);

/**
 * Remove @p name from @p dir: a file, or an empty directory. The file's space becomes
 * pending free (reused only when every host is past this entry and none holds it open).
 * @return 0; -ENOENT; -ENOTEMPTY; -EROFS; -ENOSPC log full.
 */
int famfs_fs_remove(struct famfs_fs *fs, struct famfs_inode *dir, const char *name);

/**
 * Rename (POSIX): an existing target of the same kind (file over file, directory over
 * empty directory) is replaced atomically in the same log entry.
 * @return 0; -ENOENT; -EEXIST/-ENOTEMPTY/-EISDIR/-ENOTDIR for a target that cannot be
 *         replaced; -EINVAL a directory into itself; -ENAMETOOLONG the new path would not
 *         fit the log's 79 bytes; -EROFS; -ENOSPC.
 */
int famfs_fs_rename(struct famfs_fs *fs, struct famfs_inode *olddir, const char *oldname,
		    struct famfs_inode *newdir, const char *newname);

/**
 * Set a file's size (simple files, at most 16 extents). A file that stays under 2 MiB
 * grows in packed 4 KiB pages (its last extent in place where it can); a larger one in
 * 2 MiB-aligned blocks. A shrink frees whole blocks (pages for a packed map) past the new
 * end. Bytes between the old end and the new one read as zeros.
 * @return 0; -EISDIR; -EFBIG the map cannot grow further or @p size is past the device; -ENOSPC device or log full.
 */
int famfs_fs_resize(struct famfs_fs *fs, struct famfs_inode *ino, uint64_t size);

/**
 * Grow file @p ino to at least @p size bytes: what a write of [@p from, @p size) past EOF
 * needs first (the writer fills that range, so only the bytes between the old end and
 * @p from are zeroed; pass @p from = @p size to zero all). Takes the appender lock, so two
 * growers never shrink each other; nothing is logged when the file is already that large.
 * @return 0; -ENOENT the file is gone (or removed); errors as famfs_fs_resize().
 */
int famfs_fs_grow(struct famfs_fs *fs, uint64_t ino, uint64_t from, uint64_t size);

/**
 * famfs_fs_grow() whose new size and map are not logged yet: they are kept in memory
 * (this process sees them) and logged, with attributes set meanwhile, in one entry by
 * famfs_fs_commit() (or any other change of the file that must be logged). The new
 * space is reserved against the other processes of this host (omf_ext.h). Logs at once
 * when this process cannot reserve (not registered).
 * @return as famfs_fs_grow().
 */
int famfs_fs_grow_deferred(struct famfs_fs *fs, uint64_t ino, uint64_t from, uint64_t size);

/**
 * Set attributes (FAMFS_ATTR_* bits) of object @p ino in memory, to be logged by
 * famfs_fs_commit(). @return 0; -ENOENT; -EOPNOTSUPP this process cannot defer (log
 * them with famfs_fs_setattr()).
 */
int famfs_fs_setattr_deferred(struct famfs_fs *fs, uint64_t ino, uint32_t valid, mode_t mode,
			      uid_t uid, gid_t gid, uint64_t mtime_ns, uint64_t atime_ns);

/**
 * Log what is pending for @p ino in one entry (XE_RESIZE version 2 with its attributes,
 * or XE_SETATTR). @return 0 (also when nothing is pending); errors as famfs_fs_append();
 * on error the changes stay pending.
 */
int famfs_fs_commit(struct famfs_fs *fs, uint64_t ino);

/** Commit every object whose first pending change is at or before @p older_than_ns
 * (wall clock; UINT64_MAX: all). @return 0 or the first error. */
int famfs_fs_commit_older(struct famfs_fs *fs, uint64_t older_than_ns);

/** How many objects have changes not logged yet. */
size_t famfs_fs_uncommitted(struct famfs_fs *fs);

/** famfs_fs_setattr() @p valid bits (same values as the log's). */
#define FAMFS_ATTR_MODE	 0x01
#define FAMFS_ATTR_UID	 0x02
#define FAMFS_ATTR_GID	 0x04
#define FAMFS_ATTR_MTIME 0x08
#define FAMFS_ATTR_ATIME 0x10

/**
 * Set mode, owner and times: one XE_SETATTR entry with what changes, none when nothing
 * would. 0, -EROFS, -ENOSPC.
 */
int famfs_fs_setattr(struct famfs_fs *fs, struct famfs_inode *ino, uint32_t valid, mode_t mode,
		     uid_t uid, gid_t gid, uint64_t mtime_ns, uint64_t atime_ns);

/**
 * Hold @p ino open in this process: if it is removed, its space is not reused and its
 * memory not freed until the last famfs_fs_unpin() (POSIX keeps an unlinked open file
 * readable). The caller must know @p ino is alive (it holds the appender lock, or
 * another pin); famfs_fs_pin_ino() looks up and pins in one step.
 */
void famfs_fs_pin(struct famfs_fs *fs, struct famfs_inode *ino);
/** Pin the linked inode numbered @p ino; NULL when there is none. */
struct famfs_inode *famfs_fs_pin_ino(struct famfs_fs *fs, uint64_t ino);
/** Drop a pin; after the last one a removed inode's memory is freed (@p ino is gone). */
void famfs_fs_unpin(struct famfs_fs *fs, struct famfs_inode *ino);

/** What a change callback reports. */
#define FAMFS_CHANGE_CREATED 0x1 /* @ino is new in @parent */
#define FAMFS_CHANGE_REMOVED 0x2 /* @ino left @parent */
#define FAMFS_CHANGE_ATTR    0x4 /* @ino's attributes, size or map changed */
#define FAMFS_CHANGE_RESET   0x8 /* the whole view was rebuilt (log compaction) */

typedef void (*famfs_change_fn)(void *arg, uint64_t ino, uint64_t parent, unsigned int what);

/**
 * Be told of every change that replay applies to this process's view (entries from
 * other processes and hosts, and this process's own appends). The callback runs with
 * the namespace write-locked: it must only record or queue, never call famfs_fs_*.
 * A rename reports REMOVED from the old parent and CREATED in the new one.
 */
void famfs_fs_set_change_fn(struct famfs_fs *fs, famfs_change_fn fn, void *arg);

/** Compact the log now (the master does it by itself when the log fills). */
int famfs_fs_compact(struct famfs_fs *fs);

/* ------------------------------------------------------------------ hosts and space */

struct famfs_host_info {
	unsigned int slot;
	uint8_t uuid[FAMFS_UUID_LEN];
	uint32_t pid;
	uint64_t generation;
	uint64_t replayed;     /* entries replayed */
	uint64_t safe;	       /* freed space before this index may be reused */
	uint64_t heartbeat_ns; /* wall clock of the last publish */
	bool self;	       /* this process */
	bool local;	       /* same system UUID as this process */
	bool dead;	       /* local, and its process is gone */
};

/** The registered processes. @return count, or -ENODATA without a host table. */
int famfs_fs_hosts(struct famfs_fs *fs, struct famfs_host_info *out, size_t max);
/** Declare (or withdraw) that no upstream famfs host uses this file system. */
int famfs_fs_set_no_upstream(struct famfs_fs *fs, bool no_upstream);
bool famfs_fs_no_upstream(const struct famfs_fs *fs);
/** Forget a registered process (an admin's decision for a host that is gone). */
int famfs_fs_evict_host(struct famfs_fs *fs, unsigned int slot);

struct famfs_pending_info {
	uint64_t off, len; /* freed extent */
	uint64_t freed_at; /* log index of the entry that freed it */
};
/** Pending-free extents; @return how many (up to @p max copied). */
size_t famfs_fs_pending(struct famfs_fs *fs, struct famfs_pending_info *out, size_t max);
/** Bytes freed but not yet reusable. */
uint64_t famfs_fs_pending_bytes(struct famfs_fs *fs);
/** Current log generation (number of compactions). */
uint64_t famfs_fs_generation(const struct famfs_fs *fs);

/** mkfs options. */
struct famfs_mkfs_opts {
	uint64_t log_len;	 /* 0: 8 MiB */
	bool force;		 /* overwrite a valid famfs */
	const char *system_uuid; /* override of the master's UUID */
	const char *fs_uuid;	 /* fixed file-system UUID (tests); NULL: random */
	bool no_upstream;	 /* declare that no upstream famfs host will mount it */
};

/**
 * Write a superblock and an empty log on an open device; this host becomes the master.
 * @return 0; -EEXIST a valid famfs is there and @c force is not set; -EINVAL bad log length;
 *         -ENOSPC device too small for the log; -EROFS read-only device.
 */
int famfs_mkfs(struct famfs_dev *dev, const struct famfs_mkfs_opts *opts);

#ifdef __cplusplus
}
#endif
#endif /* FAMFS_FS_H */
