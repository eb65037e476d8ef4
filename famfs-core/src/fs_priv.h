/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file fs_priv.h
 * @brief The insides of struct famfs_fs, shared by fs.c, replay.c, ops.c, hosts.c,
 *        check.c and compact.c. Not installed.
 *
 * Locking: @c mutex plus flock(dev->fd) make the holder the host's one appender
 * (famfs_fs_lock). @c ns_lock guards the namespace, the bitmaps and the pending list
 * against readers in other threads; replay and appends take it for writing.
 */
#ifndef FAMFS_FS_PRIV_H
#define FAMFS_FS_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/stat.h>

#include "famfs/fs.h"
#include "famfs/omf_ext.h"
#include "internal.h"

/** Space given up at log index @c freed_at, not yet handed out again. */
struct famfs_pending {
	uint64_t off;
	uint64_t len;
	uint64_t freed_at;
};

/*
 * The paths that FILE and MKDIR entries of the current log created: what an upstream host
 * that replays the log holds at those paths (it skips extension entries, so a remove or
 * rename never takes a path away from it). Such a path is never logged again in upstream
 * form (see omf_ext.h).
 */
#define FS_UPATH_BUCKETS 4096
struct fs_upath {
	struct fs_upath *next;
	char path[];
};

/* Attributes as the log carries them (XE_SETATTR, XE_RESIZE version 2). */
struct fs_attrs {
	uint32_t valid; /* FAMFS_XE_SET_* */
	uint32_t mode, uid, gid;
	uint64_t mtime_ns, atime_ns;
};

/* Set @a's valid attributes on @i. */
static inline void fs_attrs_apply(struct famfs_inode *i, const struct fs_attrs *a)
{
	if (a->valid & FAMFS_XE_SET_MODE)
		i->mode = (i->mode & S_IFMT) | (a->mode & 07777);
	if (a->valid & FAMFS_XE_SET_UID)
		i->uid = a->uid;
	if (a->valid & FAMFS_XE_SET_GID)
		i->gid = a->gid;
	if (a->valid & FAMFS_XE_SET_MTIME)
		i->mtime_ns = a->mtime_ns;
	if (a->valid & FAMFS_XE_SET_ATIME)
		i->atime_ns = a->atime_ns;
}

/* Every attribute of @i, all valid. */
static inline void fs_attrs_of(const struct famfs_inode *i, struct fs_attrs *a)
{
	a->valid = FAMFS_XE_SET_MODE | FAMFS_XE_SET_UID | FAMFS_XE_SET_GID | FAMFS_XE_SET_MTIME |
		   FAMFS_XE_SET_ATIME;
	a->mode = i->mode & 07777;
	a->uid = i->uid;
	a->gid = i->gid;
	a->mtime_ns = i->mtime_ns;
	a->atime_ns = i->atime_ns;
}

/* Drop from @a's mask what would not change @i (tar, cp -p and rsync set the owner and
 * mode a create already gave: a no-op costs no log entry). */
static inline void fs_attrs_filter(const struct famfs_inode *i, struct fs_attrs *a)
{
	struct fs_attrs cur;

	fs_attrs_of(i, &cur);
	a->valid &= cur.valid;
	if (a->mode == cur.mode)
		a->valid &= ~(uint32_t)FAMFS_XE_SET_MODE;
	if (a->uid == cur.uid)
		a->valid &= ~(uint32_t)FAMFS_XE_SET_UID;
	if (a->gid == cur.gid)
		a->valid &= ~(uint32_t)FAMFS_XE_SET_GID;
	if (a->mtime_ns == cur.mtime_ns)
		a->valid &= ~(uint32_t)FAMFS_XE_SET_MTIME;
	if (a->atime_ns == cur.atime_ns)
		a->valid &= ~(uint32_t)FAMFS_XE_SET_ATIME;
}

/*
 * A file's changes that are not logged yet (deferred commit, omf_ext.h). While @applied,
 * the inode holds the pending values and l_* what the log says; replay of an entry on
 * the inode swaps them around it (fs_dirty_before/after), so replay always works from
 * the logged state.
 */
struct fs_dirty {
	uint64_t ino;
	uint64_t since_ns;     /* first pending change */
	struct fs_attrs attrs; /* pending attributes (attrs.valid) */
	bool map;	       /* pending size and map */
	bool applied;
	bool detached; /* the view is being rebuilt: fs_dirty_attach_all() takes it back */
	uint64_t size;
	struct famfs_omf_fmap fmap;
	uint64_t l_size;
	struct famfs_omf_fmap l_fmap;
	struct fs_attrs l_attrs;
};

#define FS_PRE_MAX 4 /* preallocations held at once (famfs-gw cp holds one) */

struct famfs_fs {
	struct famfs_dev *dev;
	struct famfs_superblock *sb;  /* in the mapping */
	struct famfs_log_header *log; /* in the mapping */
	struct famfs_ht_header *ht;   /* host table in the mapping, NULL if absent */
	struct famfs_ht_slot *slot;   /* this process's slot, NULL if unregistered */
	uint8_t system_uuid[FAMFS_UUID_LEN];
	enum famfs_role role;
	struct famfs_ns ns;		/* protected by ns_lock */
	struct fs_upath **upaths;	/* FS_UPATH_BUCKETS chains; ns_lock */
	struct famfs_bitmap bm;		/* used units (pending ones included) */
	struct famfs_bitmap pending_bm; /* units freed but not yet reusable */
	struct famfs_bitmap dirty_bm;	/* released units that still hold old bytes */
	struct famfs_pending *pending;	/* list behind pending_bm */
	size_t npending, pending_cap;
	struct famfs_replay_stats stats; /* stats.entries is the replay cursor */
	uint64_t generation;		 /* log generation replayed (compactions) */
	uint64_t ino_base;		 /* from XE_LOGINFO */
	uint64_t *inomap;		 /* explicit inode numbers (compacted log) */
	uint64_t inomap_first, inomap_count;
	pthread_rwlock_t ns_lock;
	pthread_mutex_t mutex; /* appender lock, with flock on dev->fd */
	pthread_t owner;
	int depth;	       /* recursion of famfs_fs_lock() by owner */
	uint64_t alloc_cursor; /* first-fit cursor, reset per locked session */
	bool stalled;
	char stall[256];
	/* fsck: told about every entry replay skips, with the reason */
	void (*on_reject)(void *arg, uint64_t index, const char *why);
	void *reject_arg;
	uint64_t cur_index;	   /* the entry being applied */
	famfs_change_fn change_fn; /* replay's change reports */
	void *change_arg;
	uint64_t npins;
	struct famfs_omf_fmap pre[FS_PRE_MAX]; /* famfs_fs_prealloc(): marked, listed, unlogged */
	size_t npre;
	struct famfs_omf_fmap inflight; /* allocated for the entry being appended */
	bool has_inflight;		/* famfs_fs_pin() calls not yet undone */
	uint64_t reuse_max_freed_at;	/* largest freed_at of space taken over (+1; 0: none) */
	struct fs_dirty *dirty;		/* deferred commits (defer.c); appender lock + ns_lock */
	size_t ndirty, dirty_cap;
	bool resv_stale;	  /* the reservation area lists space no longer held */
	struct famfs_ns *retired; /* views replaced by a new log generation, kept */
	size_t nretired;	  /* while an inode of theirs is pinned (fs_reap) */
};

/** Would an upstream host that replays the log find @p dir at its current path? */
static inline bool fs_chain_upstream(const struct famfs_inode *dir)
{
	for (; dir && dir->parent; dir = dir->parent) {
		if (!dir->upstream)
			return false;
	}
	return true;
}

/*
 * Where the names of an extension entry are, in either layout (version 3 holds long
 * names, omf_ext.h): XE_CREATE, XE_REMOVE and XE_MKNOD name the object; XE_RENAME its new
 * name (and, in version 1, its old one); XE_MKNOD has the symlink target.
 */
struct fs_xe_names {
	const char *name; /* NULL: the type has no name */
	size_t name_size; /* the field's bytes */
	const char *old_name;
	size_t old_size;
	const char *target;
	size_t target_size;
};
/* check.c */
void fs_xe_names(const struct famfs_log_entry *le, struct fs_xe_names *n);
/* The map part of an XE_CREATE with FAMFS_XC_MAP (NULL without), and the most extents
 * its layout holds. */
const struct famfs_xc_map *fs_xc_map(const struct famfs_log_entry *le, uint32_t *max);

/* fs.c */
void fs_reap_locked(struct famfs_fs *fs);
void fs_reap(struct famfs_fs *fs);

/* replay.c */
bool fs_upath_taken(const struct famfs_fs *fs, const char *relpath);
/* Does @m hold packed extents (not multiples of the superblock's unit)? (ops.c) */
bool fs_fmap_packed(const struct famfs_fs *fs, const struct famfs_omf_fmap *m);
/* Can the kernels upstream famfs pairs with map @m? At most 2 simple extents (their
 * FAMFS_MAX_EXTENTS), or one interleaved extent; never packed pages. (ops.c) */
bool fs_upstream_mappable(const struct famfs_fs *fs, const struct famfs_omf_fmap *m);
int fs_replay_reset(struct famfs_fs *fs);
void fs_replay_fini(struct famfs_fs *fs);
void fs_apply_entry(struct famfs_fs *fs, uint64_t index, const struct famfs_log_entry *le);
/** Release pending space freed before @p min_safe; returns bytes released. */
uint64_t fs_release_pending(struct famfs_fs *fs, uint64_t min_safe);
uint64_t fs_pending_bytes(const struct famfs_fs *fs);

/* hosts.c */
void fs_hosts_attach(struct famfs_fs *fs);
void fs_hosts_detach(struct famfs_fs *fs);
void fs_hosts_publish(struct famfs_fs *fs);
/** Smallest safe position of every registered process (UINT64_MAX when none). */
uint64_t fs_hosts_min_safe(struct famfs_fs *fs, char *who, size_t wholen);
/**
 * This process's safe position: its cursor, or earlier for removed files it holds.
 * The caller holds ns_lock (the graveyard and retired views change under replay).
 */
uint64_t fs_own_safe(struct famfs_fs *fs);
int fs_hosts_init_table(struct famfs_superblock *sb, uint32_t flags);
/* Can this process reserve space (registered, table whole, read-write)? */
bool fs_resv_can(const struct famfs_fs *fs);
/* Publish this process's reserved extents (the caller holds the appender lock). */
void fs_resv_publish(struct famfs_fs *fs, const struct famfs_resv_extent *e, uint32_t n);
/*
 * Mark in fs->bm the space other live processes reserved (the caller holds the appender
 * lock and ns_lock for writing). Returns the runs this marked, for fs_resv_unmark().
 */
size_t fs_resv_mark_foreign(struct famfs_fs *fs, struct famfs_resv_extent **out);
void fs_resv_unmark(struct famfs_fs *fs, struct famfs_resv_extent *set, size_t n);
void fs_hosts_commit(struct famfs_fs *fs);

/* defer.c (the caller holds ns_lock for writing unless said otherwise) */
/* Replay of an entry that changes @ino's size, map or attributes: before and after. */
void fs_dirty_before(struct famfs_fs *fs, uint64_t ino);
void fs_dirty_after(struct famfs_fs *fs, uint64_t ino);
/* After a remove or rename of @ino: forget what was pending for it if it is gone. */
void fs_dirty_gone(struct famfs_fs *fs, uint64_t ino);
/* The view is rebuilt (new generation): the old inodes no longer hold pending values. */
void fs_dirty_detach_all(struct famfs_fs *fs);
/* Put pending values back into the (rebuilt) view; drop those whose object is gone. */
void fs_dirty_attach_all(struct famfs_fs *fs);
/* Give every inode its logged values (compaction writes what the log says). */
void fs_dirty_undo_all(struct famfs_fs *fs);
/* The pending record of @ino, or NULL. */
struct fs_dirty *fs_dirty_find(struct famfs_fs *fs, uint64_t ino);
/* Record @ino's new size and map (allocated, not logged); the caller holds the appender
 * lock, not ns_lock. -ENOSPC when the reservation area is full (log it instead). */
int fs_dirty_set_map(struct famfs_fs *fs, struct famfs_inode *ino, uint64_t size,
		     const struct famfs_omf_fmap *m);
/* Move @ino's bytes from the packed map @m to @nm (one 2 MiB-aligned extent, allocated,
 * not logged): the pending map becomes @nm (and so does @m); the old pages the log does
 * not hold are free. The caller holds the appender lock, not ns_lock. 0, -EIO or
 * -ENOMEM (then @nm is given back). */
int fs_dirty_relocate(struct famfs_fs *fs, struct famfs_inode *ino, struct famfs_omf_fmap *m,
		      const struct famfs_omf_fmap *nm);
/* Log what is pending for @ino; the caller holds the appender lock, not ns_lock. */
int fs_dirty_commit(struct famfs_fs *fs, uint64_t ino);
/* Log everything pending (stops at the first failure); the caller holds the appender lock. */
void fs_dirty_commit_all(struct famfs_fs *fs);
/* List pending maps and preallocations (fs->pre) in this process's reservation area.
 * -ENOSPC when they do not fit. */
int fs_pre_publish(struct famfs_fs *fs);

/* compact.c */
int fs_compact(struct famfs_fs *fs);
/**
 * Zero every released unit that still holds a removed file's bytes (the caller holds
 * ns_lock for writing). A compacted log no longer says such space was ever used, so
 * compaction zeroes it before another process could hand it out unscrubbed.
 * @return 0, or -EIO when some unit is bad memory (the others are still zeroed).
 */
int fs_scrub_all(struct famfs_fs *fs);
/** Finish a compaction that a crash interrupted (idempotent). */
int fs_compact_recover(struct famfs_fs *fs);
int fs_compact_recover_locked(struct famfs_fs *fs);

/* ops.c */
uint64_t fs_now_ns(void);

#endif /* FAMFS_FS_PRIV_H */
