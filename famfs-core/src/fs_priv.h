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
	struct famfs_omf_fmap inflight; /* allocated for the entry being appended */
	bool has_inflight;		/* famfs_fs_pin() calls not yet undone */
	uint64_t reuse_max_freed_at;	/* largest freed_at of space taken over (+1; 0: none) */
	struct famfs_ns *retired;	/* views replaced by a new log generation, kept */
	size_t nretired;		/* while an inode of theirs is pinned (fs_reap) */
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

/* fs.c */
void fs_reap_locked(struct famfs_fs *fs);
void fs_reap(struct famfs_fs *fs);

/* replay.c */
bool fs_upath_taken(const struct famfs_fs *fs, const char *relpath);
/* Does @m hold packed extents (not multiples of the superblock's unit)? (ops.c) */
bool fs_fmap_packed(const struct famfs_fs *fs, const struct famfs_omf_fmap *m);
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
void fs_hosts_commit(struct famfs_fs *fs);

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
