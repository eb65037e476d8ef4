/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file ll.h
 * @brief The by-inode file-system API that the NFS FSAL and the FUSE daemon share.
 *
 * This is the layer that servers talk to (the role Ceph's low-level ll_* calls play for
 * ceph-fuse and FSAL_CEPH): every object is named by its inode number, every call returns
 * 0 or -errno, and no caller ever takes a famfs-core lock or touches a struct famfs_inode.
 * The NFS and FUSE front ends only translate attributes, errors and replies.
 *
 * Owns: one struct famfs_ll per open famfs (it does not own the famfs_fs), the table of
 * pinned (open) inodes, the recorded changes and the log-follower thread.
 *
 * Invariants:
 *  - An inode number that is not linked answers -ESTALE, unless it is pinned: a file
 *    removed while open keeps its attributes and I/O (POSIX) until its last unpin.
 *    A name that is not there answers -ENOENT.
 *  - Every change checks, in this order: a writable famfs (-EROFS), the host's
 *    appender lock within a bounded wait (-EAGAIN: the front end says "retry"), the
 *    caller's permission when a credential is given (-EACCES, -EPERM), then the
 *    change, with names resolved to paths only under that lock (a concurrent rename
 *    cannot land a create on a stale path).
 *  - A new object belongs to the creator's uid and gid, or to the directory's gid when
 *    the directory is setgid (a new subdirectory inherits the setgid bit).
 *  - The follower delivers changes in batches, sorted by inode number, with no lock of
 *    this layer held: the callback may call back into any famfs_ll_* function.
 *
 * Permission (struct famfs_cred): POSIX rules on owner, group (primary and supplementary)
 * and mode bits; uid 0 passes read and write checks and execute checks where some x bit
 * is set. A NULL credential means "already checked" (the FUSE kernel checks with
 * default_permissions, the CLI acts as the administrator).
 *
 * Lock order (the whole library; take them top to bottom, never upwards):
 *   1. famfs_ll follower lock (stop flag only; never held across a call below)
 *   2. the host's appender lock (famfs_fs_lock: per-famfs mutex, then flock on the device)
 *   3. famfs_ll pin lock (pin, unpin, and moving pins to a compacted view; its holder
 *      never waits for 2)
 *   4. the namespace lock (famfs_fs_rdlock / write lock inside replay and appends)
 *   5. famfs_ll.lock (pin table and change list; leaf: nothing is called under it)
 * The change callback of famfs_fs runs under 4 and takes only 5. Replay outside an
 * appender session try-locks 2 under 4 (never waits) to free removed inodes.
 *
 * Memory: a removed inode is freed when its last pin goes (or, unpinned, when the
 * appender session that removed it ends, or by the replay that removed it); a view
 * replaced by a compaction when none of its inodes is pinned.
 */
#ifndef FAMFS_LL_H
#define FAMFS_LL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "famfs/fs.h"

#ifdef __cplusplus
extern "C" {
#endif

struct famfs_ll;

/** Who asks: uid, gid and supplementary groups (after any squashing). */
struct famfs_cred {
	uid_t uid;
	gid_t gid;
	const gid_t *groups;
	size_t ngroups;
};

/** Access bits for famfs_ll_access() and famfs_permit(). */
#define FAMFS_MAY_EXEC	1
#define FAMFS_MAY_WRITE 2
#define FAMFS_MAY_READ	4

/** What a server needs to know of an object. */
struct famfs_attr {
	uint64_t ino;
	uint64_t parent; /* the directory holding it (the root's is the root); 0 when removed */
	mode_t mode;	 /* type and permission bits */
	uint32_t nlink;
	uid_t uid;
	gid_t gid;
	uint64_t size;	/* bytes (4096 for a directory) */
	uint64_t space; /* bytes allocated */
	uint64_t atime_ns, mtime_ns, ctime_ns;
	uint64_t change;  /* NFSv4 change attribute: moves whenever the object changes */
	uint64_t map_sig; /* a signature of size and extent map: equal means the same bytes */
	uint64_t rdev;	  /* a device node's dev_t */
	bool memerr;	  /* a memory error hit it: I/O answers -EIO */
};

/** Open a layer over @p fs (not owned); @p readonly refuses every change with -EROFS. */
int famfs_ll_new(struct famfs_fs *fs, bool readonly, struct famfs_ll **out);
/** Stop the follower (if any), drop every pin, free. */
void famfs_ll_free(struct famfs_ll *ll);
/** How long a change waits for the host's appender lock before -EAGAIN (default). */
#define FAMFS_LL_LOCK_MS 5000
void famfs_ll_set_lock_wait(struct famfs_ll *ll, unsigned int ms);
/**
 * Deferred commit (famfs/omf_ext.h): a growing write keeps the file's new size and map
 * in memory, and famfs_ll_commit() (or the follower, for changes older than
 * @p commit_ms) logs them with the attributes set meanwhile in one entry. With
 * @p defer_attrs, attribute changes (not sizes) wait the same way (FUSE: a local file
 * system; NFS logs a SETATTR before it replies, with what is pending). @p commit_ms 0
 * (the default) logs every change at once. famfs_ll_free() commits what is left.
 */
#define FAMFS_LL_COMMIT_MS 800
void famfs_ll_set_commit(struct famfs_ll *ll, unsigned int commit_ms, bool defer_attrs);
/**
 * Log what is pending for @p ino (NFS COMMIT, CLOSE, a stable WRITE; FUSE release,
 * fsync). @return 0 (also when nothing is pending); -EROFS; -EAGAIN; -ENOSPC; -EIO.
 */
int famfs_ll_commit(struct famfs_ll *ll, uint64_t ino);
/** May this layer change the file system (the master, not mounted read-only)? */
bool famfs_ll_writable(const struct famfs_ll *ll);

/**
 * POSIX permission of @p cr on an object of @p mode, @p uid, @p gid for @p mask
 * (FAMFS_MAY_*). @return 0 or -EACCES. A NULL @p cr passes.
 */
int famfs_permit(const struct famfs_cred *cr, mode_t mode, uid_t uid, gid_t gid, int mask);
/** Is @p cr a member of group @p gid (primary or supplementary)? */
bool famfs_cred_in_group(const struct famfs_cred *cr, gid_t gid);

/* ------------------------------------------------------------------ reading */

/** Attributes of @p ino (linked, or removed and pinned). 0 or -ESTALE. */
int famfs_ll_getattr(struct famfs_ll *ll, uint64_t ino, struct famfs_attr *out);

/**
 * Look up @p name in directory @p dir ("." and ".." included; ".." of the root is the
 * root). Needs search permission on @p dir.
 * @return 0; -ESTALE @p dir is gone; -ENOTDIR; -ENOENT; -ENAMETOOLONG; -EACCES.
 */
int famfs_ll_lookup(struct famfs_ll *ll, uint64_t dir, const char *name,
		    const struct famfs_cred *cr, struct famfs_attr *out);

/** Resolve a relpath ("" is the root) with no permission check (an admin's path). */
int famfs_ll_resolve(struct famfs_ll *ll, const char *relpath, struct famfs_attr *out);

/** Check @p mask (FAMFS_MAY_*) on @p ino for @p cr. 0, -EACCES, -ESTALE. */
int famfs_ll_access(struct famfs_ll *ll, uint64_t ino, int mask, const struct famfs_cred *cr);

/** One entry of a directory snapshot. */
struct famfs_dirent {
	uint64_t ino;	 /* what the name stands for (a hard link: its object) */
	uint64_t cookie; /* FAMFS_DIR_COOKIE of the name's own number; unique in the dir */
	mode_t type;	 /* S_IFDIR, S_IFREG, S_IFLNK, ... */
	char name[FAMFS_NAME_MAX + 1];
};

/**
 * A directory's entries as of one moment, sorted by cookie. An entry's cookie is
 * FAMFS_DIR_COOKIE of its name's number (a hard link's own, so that two links of one file
 * in one directory differ; otherwise the inode number); cookies 0..2 are reserved (start,
 * ".", ".."). Those numbers never change, so a cookie stays valid when its entry is
 * renamed or removed: a listing resumed at a cookie skips nothing and repeats nothing.
 */
struct famfs_dirsnap {
	uint64_t ino;
	uint64_t parent;
	size_t n;
	struct famfs_dirent *ents;
};
#define FAMFS_DIR_COOKIE(ino) ((uint64_t)(ino) + 2)

/**
 * Snapshot the entries of directory @p dir whose cookie is greater than @p after (0: all).
 * Needs read permission on @p dir. @p snap is replaced (free it with famfs_dirsnap_free).
 * @return 0; -ESTALE; -ENOTDIR; -EACCES; -ENOMEM.
 */
int famfs_ll_readdir(struct famfs_ll *ll, uint64_t dir, uint64_t after, const struct famfs_cred *cr,
		     struct famfs_dirsnap *snap);
/** The index of the first entry of @p snap with a cookie greater than @p cookie. */
size_t famfs_dirsnap_seek(const struct famfs_dirsnap *snap, uint64_t cookie);
void famfs_dirsnap_free(struct famfs_dirsnap *snap);

/** Space and log slots. */
struct famfs_ll_statfs {
	uint64_t unit;	   /* allocation unit (bytes) */
	uint64_t blocks;   /* units of the data area */
	uint64_t bfree;	   /* free units */
	uint64_t files;	   /* log slots */
	uint64_t ffree;	   /* free log slots */
	uint32_t name_max; /* longest name */
};
void famfs_ll_statfs(struct famfs_ll *ll, struct famfs_ll_statfs *out);

/* ------------------------------------------------------------------ open files and I/O */

/**
 * Hold regular file @p ino open: while pinned, a removed file keeps its attributes, its
 * bytes and its space. @return 0; -ESTALE; -EISDIR.
 */
int famfs_ll_pin(struct famfs_ll *ll, uint64_t ino);
void famfs_ll_unpin(struct famfs_ll *ll, uint64_t ino);

/**
 * Read up to @p len bytes at @p off (FAMFS_IO_* @p flags). *@p eof tells whether the
 * read reached the end of the file. @return bytes read, -ESTALE, -EISDIR, -EIO.
 */
ssize_t famfs_ll_read(struct famfs_ll *ll, uint64_t ino, uint64_t off, void *buf, size_t len,
		      unsigned int flags, bool *eof);

/**
 * Write @p len bytes at @p off, growing the file first when the write passes its end
 * (the caller's open decided the permission). Data is flushed to the memory on return.
 * @return bytes written; -EROFS; -EAGAIN (the appender lock stayed busy); -ESTALE (gone, or removed
 * and cannot grow); -EFBIG; -ENOSPC; -EIO.
 */
ssize_t famfs_ll_write(struct famfs_ll *ll, uint64_t ino, uint64_t off, const void *buf,
		       size_t len);

/** famfs_ll_fallocate() modes. */
#define FAMFS_FALLOC_KEEP_SIZE 0x1 /* allocate without changing the size */
#define FAMFS_FALLOC_PUNCH     0x2 /* deallocate: the range reads zeros (size kept) */

/**
 * Allocate or deallocate a range of regular file @p ino (NFSv4.2 ALLOCATE/DEALLOCATE,
 * fallocate(2)). Every famfs file is allocated up to its size, so allocating grows the
 * file to @p off + @p len (with FAMFS_FALLOC_KEEP_SIZE: only when its allocation already
 * holds the range, else -EOPNOTSUPP: the format cannot say "allocated past the end").
 * Deallocating zeroes the range inside the file (the extents stay: upstream maps them).
 * @return 0; -EROFS; -ESTALE; -EISDIR; -EINVAL; -EOPNOTSUPP; -EFBIG; -ENOSPC; -EAGAIN.
 */
int famfs_ll_fallocate(struct famfs_ll *ll, uint64_t ino, unsigned int mode, uint64_t off,
		       uint64_t len);

/* ------------------------------------------------------------------ changes */

/** What a create makes. */
struct famfs_ll_new {
	mode_t mode; /* S_IFREG or S_IFDIR plus permission bits */
	uid_t uid;   /* owner (must be the caller's unless the caller is root) */
	gid_t gid;   /* group (the caller's, or one it is in; a setgid directory decides) */
	uint64_t atime_ns, mtime_ns; /* 0: now */
	uint64_t size;		     /* a regular file's initial size (allocated, reads zeros) */
	uint64_t rdev;		     /* S_IFCHR, S_IFBLK: the device */
	const char *target;	     /* S_IFLNK: the link's target */
};

/** famfs_ll_create() flags. */
#define FAMFS_LL_EXCL 0x1 /* an existing name is -EEXIST (else an existing file is opened) */

/**
 * Create @p name in @p dir: a regular file, a directory, a symbolic link, a fifo, a
 * socket or a device node (@p nw->mode's type). Needs search permission on @p dir, and
 * write permission when the name is new; a device node needs root. Without
 * FAMFS_LL_EXCL an existing regular file of that name is returned instead (*@p created
 * false), which is what open(O_CREAT) without O_EXCL does.
 * @return 0; -EROFS; -ESTALE; -ENOTDIR; -EACCES; -EPERM (an owner the caller may not
 *         give, a device node from a user); -EEXIST; -EISDIR (an existing directory
 *         without FAMFS_LL_EXCL); -EINVAL a bad name or type; -ENAMETOOLONG (a name, or a
 *         symlink target longer than FAMFS_XE_TARGET_MAX); -ENOSPC.
 */
int famfs_ll_create(struct famfs_ll *ll, uint64_t dir, const char *name,
		    const struct famfs_ll_new *nw, unsigned int flags, const struct famfs_cred *cr,
		    struct famfs_attr *out, bool *created);

/**
 * The target of symbolic link @p ino, NUL-terminated in @p buf (truncated to @p len).
 * @return the target's length; -ESTALE; -EINVAL not a symbolic link.
 */
ssize_t famfs_ll_readlink(struct famfs_ll *ll, uint64_t ino, char *buf, size_t len);

struct famfs_direct_map;

/**
 * The map of regular file @p ino for a direct mapping by a process of this host
 * (famfs/direct.h): its size, extents (pending growth included) and the device, by its
 * absolute path. Flags say devdax and, on a host that is not the master, read-only.
 * @return 0; -ESTALE; -EISDIR or -EINVAL not a regular file; -EIO the file had a memory
 *         error; -ENAMETOOLONG a device path over FAMFS_DIRECT_DEV_MAX.
 */
int famfs_ll_direct_map(struct famfs_ll *ll, uint64_t ino, struct famfs_direct_map *out);

/** famfs_ll_unlink() kinds. */
enum famfs_ll_kind { FAMFS_LL_ANY = 0, FAMFS_LL_FILE, FAMFS_LL_DIR };

/**
 * Remove @p name from @p dir (a file, or an empty directory). Needs write and search
 * permission on @p dir and, in a sticky directory, to own the object or the directory.
 * @return 0; -EROFS; -ESTALE; -ENOENT; -EISDIR/-ENOTDIR (the kind asked for); -ENOTEMPTY;
 *         -EACCES; -EPERM (sticky); -ENOSPC log full.
 */
int famfs_ll_unlink(struct famfs_ll *ll, uint64_t dir, const char *name, enum famfs_ll_kind kind,
		    const struct famfs_cred *cr);

#define FAMFS_LL_NOREPLACE 0x1 /* rename: an existing target is -EEXIST */

/**
 * A hard link: @p newname in @p newdir becomes one more name of @p ino (POSIX link(2);
 * write and search permission on @p newdir). The link count of @p ino grows; removing any
 * one name keeps the data. Other hosts see it after their replay; upstream hosts do not
 * (they know the object by its first name only).
 * @return 0; -ESTALE/-ENOENT @p ino is gone or removed; -EPERM a directory; -EEXIST;
 *         -EACCES; -ENAMETOOLONG; -EMLINK; -EROFS; -EAGAIN.
 */
int famfs_ll_link(struct famfs_ll *ll, uint64_t ino, uint64_t newdir, const char *newname,
		  const struct famfs_cred *cr, struct famfs_attr *out);

/**
 * Rename (POSIX): an existing target of the same kind is replaced atomically. Needs write
 * and search permission on both directories, the sticky rule on the object and on a
 * replaced target, and write permission on a directory that moves to another parent.
 * @return 0; -EROFS; -ESTALE; -ENOENT; -EEXIST; -ENOTEMPTY; -EISDIR; -ENOTDIR; -EINVAL;
 *         -EACCES; -EPERM; -ENAMETOOLONG; -ENOSPC.
 */
int famfs_ll_rename(struct famfs_ll *ll, uint64_t olddir, const char *oldname, uint64_t newdir,
		    const char *newname, unsigned int flags, const struct famfs_cred *cr);

/** famfs_ll_setattr() valid bits. */
#define FAMFS_SET_MODE	    0x01
#define FAMFS_SET_UID	    0x02
#define FAMFS_SET_GID	    0x04
#define FAMFS_SET_MTIME	    0x08
#define FAMFS_SET_ATIME	    0x10
#define FAMFS_SET_SIZE	    0x20
#define FAMFS_SET_MTIME_NOW 0x40 /* with FAMFS_SET_MTIME: the server's clock */
#define FAMFS_SET_ATIME_NOW 0x80 /* with FAMFS_SET_ATIME: the server's clock */

struct famfs_ll_setattr {
	uint32_t valid;
	mode_t mode; /* permission bits */
	uid_t uid;
	gid_t gid;
	uint64_t size;
	uint64_t mtime_ns, atime_ns;
};

/**
 * Change size, mode, owner and times (POSIX rules for @p cr: only root gives a file away;
 * the owner may change its group to one it is in; the owner or root changes the mode, and
 * the setgid bit drops when the caller is not in the file's group; explicit times need
 * the owner or root, "now" also write permission; a size needs write permission).
 * @return 0; -EROFS; -ESTALE; -EPERM; -EACCES; -EISDIR (a size on a directory); -EFBIG;
 *         -ENOSPC.
 */
int famfs_ll_setattr(struct famfs_ll *ll, uint64_t ino, const struct famfs_ll_setattr *sa,
		     const struct famfs_cred *cr, struct famfs_attr *out);

/* ------------------------------------------------------------------ following the log */

/** A change the follower reports (one per (ino, parent), kinds OR'ed). */
#define FAMFS_LL_ENTRIES 0x100 /* beside FAMFS_CHANGE_*: a name in directory @ino came or went */
struct famfs_ll_change {
	uint64_t ino;
	uint64_t parent; /* with FAMFS_CHANGE_CREATED/REMOVED: the directory concerned */
	unsigned int what;
};

/**
 * Called on the follower thread, with no lock held, after each replay that changed the
 * view: @p n changes sorted by inode number, or @p reset when the whole view was rebuilt
 * (log compaction) or too much changed at once (then @p n is 0: forget everything).
 */
typedef void (*famfs_ll_change_fn)(void *arg, const struct famfs_ll_change *c, size_t n,
				   bool reset);

/**
 * Start the one follower thread: replay the log every @p interval_ms and report changes
 * (including this process's own) to @p fn. @return 0, -EBUSY already started, -errno.
 */
int famfs_ll_follow(struct famfs_ll *ll, unsigned int interval_ms, famfs_ll_change_fn fn,
		    void *arg);
/** Stop the follower and wait for it (never call it from the callback). */
void famfs_ll_follow_stop(struct famfs_ll *ll);
/** One replay step now, on the caller's thread (tests; the follower does it by itself). */
void famfs_ll_follow_step(struct famfs_ll *ll);

/** Every inode number of the current view (for a reset). @return count, *@p out malloc'd. */
size_t famfs_ll_inodes(struct famfs_ll *ll, uint64_t **out);

#ifdef __cplusplus
}
#endif
#endif /* FAMFS_LL_H */
