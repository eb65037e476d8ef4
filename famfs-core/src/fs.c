/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file fs.c
 * @brief Open and close, the appender lock, and append (see famfs/fs.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "famfs/cache.h"
#include "famfs/fs.h"
#include "famfs/io.h"
#include "famfs/path.h"
#include "fs_priv.h"

const struct famfs_dev *famfs_fs_dev(const struct famfs_fs *fs)
{
	return fs->dev;
}

const struct famfs_superblock *famfs_fs_sb(const struct famfs_fs *fs)
{
	return fs->sb;
}

const struct famfs_log_header *famfs_fs_log(const struct famfs_fs *fs)
{
	return fs->log;
}

struct famfs_ns *famfs_fs_ns(struct famfs_fs *fs)
{
	return &fs->ns;
}

const struct famfs_bitmap *famfs_fs_bitmap(const struct famfs_fs *fs)
{
	return &fs->bm;
}

enum famfs_role famfs_fs_role(const struct famfs_fs *fs)
{
	return fs->role;
}

const uint8_t *famfs_fs_system_uuid(const struct famfs_fs *fs)
{
	return fs->system_uuid;
}

const struct famfs_replay_stats *famfs_fs_stats(const struct famfs_fs *fs)
{
	return &fs->stats;
}

const char *famfs_fs_replay_stall(const struct famfs_fs *fs)
{
	return fs->stalled ? fs->stall : NULL;
}

void famfs_fs_rdlock(struct famfs_fs *fs)
{
	pthread_rwlock_rdlock(&fs->ns_lock);
}

void famfs_fs_rdunlock(struct famfs_fs *fs)
{
	pthread_rwlock_unlock(&fs->ns_lock);
}

/* ------------------------------------------------------------------ open / close */

int famfs_fs_open(const char *devpath, const struct famfs_fs_opts *opts, struct famfs_fs **out)
{
	static const struct famfs_fs_opts defaults;
	struct famfs_dev_opts dopts;
	struct famfs_fs *fs;
	char why[256];
	int rc;

	if (!opts)
		opts = &defaults;
	*out = NULL;
	fs = calloc(1, sizeof(*fs));
	if (!fs)
		return -ENOMEM;
	pthread_rwlock_init(&fs->ns_lock, NULL);
	pthread_mutex_init(&fs->mutex, NULL);

	memset(&dopts, 0, sizeof(dopts));
	dopts.readonly = opts->readonly;
	dopts.offset = opts->dev_offset;
	rc = famfs_dev_open(devpath, &dopts, &fs->dev);
	if (rc)
		goto err_free;

	fs->sb = (struct famfs_superblock *)fs->dev->base;
	famfs_cache_invalidate(fs->sb, sizeof(*fs->sb));
	rc = famfs_sb_check(fs->sb, fs->dev->size, why, sizeof(why));
	if (rc) {
		famfs_err("%s: %s", devpath, why);
		goto err_dev;
	}
	if (FAMFS_LOG_OFFSET + fs->sb->sb_log_len > fs->dev->size) {
		famfs_err("%s: the log (0x%llx bytes) does not fit the device", devpath,
			  (unsigned long long)fs->sb->sb_log_len);
		rc = -EINVAL;
		goto err_dev;
	}
	fs->log = (struct famfs_log_header *)(fs->dev->base + FAMFS_LOG_OFFSET);
	famfs_cache_invalidate(fs->log, FAMFS_LOG_HEADER_SIZE); /* replay invalidates entries */
	rc = famfs_log_header_check(fs->log, fs->sb, why, sizeof(why));
	if (rc) {
		famfs_err("%s: %s", devpath, why);
		goto err_dev;
	}
	rc = famfs_system_uuid(opts->system_uuid, fs->system_uuid);
	if (rc)
		goto err_dev;
	fs->role =
	    memcmp(fs->system_uuid, fs->sb->sb_system_uuid, FAMFS_UUID_LEN) == 0 && !opts->readonly
		? FAMFS_ROLE_MASTER
		: FAMFS_ROLE_CLIENT;
	fs_hosts_attach(fs);
	fs_compact_recover(fs);
	rc = fs_replay_reset(fs);
	if (rc)
		goto err_replay;
	rc = famfs_fs_refresh(fs);
	if (rc < 0 && rc != -EBADMSG)
		goto err_replay;
	*out = fs;
	return 0;

err_replay:
	fs_replay_fini(fs);
	famfs_bitmap_fini(&fs->dirty_bm);
	fs_hosts_detach(fs);
err_dev:
	famfs_dev_close(fs->dev);
err_free:
	pthread_mutex_destroy(&fs->mutex);
	pthread_rwlock_destroy(&fs->ns_lock);
	free(fs);
	return rc;
}

void famfs_fs_close(struct famfs_fs *fs)
{
	if (!fs)
		return;
	if (famfs_fs_uncommitted(fs) && famfs_fs_commit_older(fs, UINT64_MAX))
		famfs_err("%s: changes not logged yet are lost at close", fs->dev->path);
	fs_hosts_detach(fs);
	fs_replay_fini(fs);
	free(fs->dirty);
	famfs_bitmap_fini(&fs->dirty_bm);
	for (size_t i = 0; i < fs->nretired; i++)
		famfs_ns_fini(&fs->retired[i]);
	free(fs->retired);
	famfs_dev_close(fs->dev);
	pthread_mutex_destroy(&fs->mutex);
	pthread_rwlock_destroy(&fs->ns_lock);
	free(fs);
}

/* ------------------------------------------------------------------ the appender lock */

/*
 * The pid that holds a flock on the file behind @fd (from /proc/locks), or 0 when none
 * is found: what a message about a busy log lock names.
 */
static long lock_holder(int fd)
{
	unsigned int maj, min;
	unsigned long ino;
	char line[256], kind[16], mode[16];
	struct stat st;
	long pid, found = 0;
	FILE *f;

	if (fstat(fd, &st) < 0 || !(f = fopen("/proc/locks", "re")))
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*[^:]: %15s %*s %15s %ld %x:%x:%lu", kind, mode, &pid, &maj,
			   &min, &ino) == 6 &&
		    strcmp(kind, "FLOCK") == 0 && strcmp(mode, "WRITE") == 0 &&
		    ino == (unsigned long)st.st_ino && maj == major(st.st_dev) &&
		    min == minor(st.st_dev))
			found = pid;
	}
	fclose(f);
	return found;
}

int famfs_fs_lock(struct famfs_fs *fs)
{
	return famfs_fs_lock_timed(fs, FAMFS_LOCK_FOREVER);
}

/* Sleep @ms milliseconds. */
static void sleep_ms(unsigned int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

int famfs_fs_lock_timed(struct famfs_fs *fs, unsigned int timeout_ms)
{
	struct timespec deadline;
	unsigned int waited = 0, nap = 1;
	int rc;

	if (fs->role != FAMFS_ROLE_MASTER) {
		famfs_err("%s: this host is not the famfs master; only the master changes the log",
			  fs->dev->path);
		return -EROFS;
	}
	if (fs->depth && pthread_equal(fs->owner, pthread_self())) {
		fs->depth++;
		return 0;
	}
	if (timeout_ms == FAMFS_LOCK_FOREVER) {
		pthread_mutex_lock(&fs->mutex);
	} else {
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_sec += timeout_ms / 1000;
		deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
		rc = pthread_mutex_timedlock(&fs->mutex, &deadline);
		if (rc) {
			famfs_debug("%s: the log lock is busy in this process (%u ms)",
				    fs->dev->path, timeout_ms);
			return -EAGAIN;
		}
	}
	/* Another process of this host holds the lock: wait, within the bound. */
	while (flock(fs->dev->fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK) {
			rc = -errno;
			famfs_err("%s: cannot take the log lock: %s", fs->dev->path,
				  strerror(errno));
			pthread_mutex_unlock(&fs->mutex);
			return rc;
		}
		if (timeout_ms == FAMFS_LOCK_FOREVER) {
			famfs_msg(FAMFS_MSG_NOTICE,
				  "%s: waiting for the log lock, held by process %ld",
				  fs->dev->path, lock_holder(fs->dev->fd));
			while (flock(fs->dev->fd, LOCK_EX) < 0) {
				if (errno != EINTR) {
					rc = -errno;
					famfs_err("%s: cannot take the log lock: %s", fs->dev->path,
						  strerror(errno));
					pthread_mutex_unlock(&fs->mutex);
					return rc;
				}
			}
			break;
		}
		if (waited >= timeout_ms) {
			famfs_debug("%s: the log lock is held by process %ld for more than %u ms",
				    fs->dev->path, lock_holder(fs->dev->fd), timeout_ms);
			pthread_mutex_unlock(&fs->mutex);
			return -EAGAIN;
		}
		sleep_ms(nap);
		waited += nap;
		nap = nap < 16 ? nap * 2 : 16;
	}
	fs->owner = pthread_self();
	fs->depth = 1;
	fs->alloc_cursor = 0;
	fs->bm.small_cursor = 0; /* first fit: small files fill the holes freed space left */
	/* A compaction another process of this host left half done: finish it first (only
	 * a holder of this lock may), then replay the new log. */
	if (fs->ht) {
		famfs_cache_invalidate(fs->ht, sizeof(*fs->ht));
		if (fs->ht->ht_flags & FAMFS_HT_COMPACTING)
			(void)fs_compact_recover_locked(fs);
	}
	rc = famfs_fs_refresh(fs);
	if (rc < 0) {
		famfs_fs_unlock(fs);
		return rc;
	}
	return 0;
}

/*
 * Free what no one can reach any more: removed inodes without pins and retired views
 * (replaced by a compaction) without pinned inodes. Called with ns_lock write-held by a
 * thread that holds fs->mutex, so no appender session (whose caller may still hold
 * pointers from before its last change) is in progress in this process.
 */
void fs_reap_locked(struct famfs_fs *fs)
{
	size_t k = 0;

	famfs_ns_reap(&fs->ns);
	for (size_t r = 0; r < fs->nretired; r++) {
		famfs_ns_reap(&fs->retired[r]);
		if (famfs_ns_pinned(&fs->retired[r]))
			fs->retired[k++] = fs->retired[r];
		else
			famfs_ns_fini(&fs->retired[r]);
	}
	fs->nretired = k;
}

/* fs_reap_locked() if no appender session of this process is in progress. */
void fs_reap(struct famfs_fs *fs)
{
	if (pthread_mutex_trylock(&fs->mutex))
		return; /* a session runs: it reaps when it ends */
	pthread_rwlock_wrlock(&fs->ns_lock);
	fs_reap_locked(fs);
	pthread_rwlock_unlock(&fs->ns_lock);
	pthread_mutex_unlock(&fs->mutex);
}

void famfs_fs_unlock(struct famfs_fs *fs)
{
	if (--fs->depth > 0)
		return;
	fs->has_inflight = false;
	flock(fs->dev->fd, LOCK_UN);
	/* The session is over: its caller holds no pointer to what it removed. */
	pthread_rwlock_wrlock(&fs->ns_lock);
	fs_reap_locked(fs);
	pthread_rwlock_unlock(&fs->ns_lock);
	pthread_mutex_unlock(&fs->mutex);
}

int famfs_fs_append(struct famfs_fs *fs, struct famfs_log_entry *le)
{
	struct famfs_log_header *lh = fs->log;
	struct famfs_log_entry *slot;
	uint64_t idx;

	if (fs->role != FAMFS_ROLE_MASTER)
		return -EROFS;
	idx = lh->lh_next_index;
	if (lh->lh_next_seqnum != idx) {
		famfs_err("%s: log header counters disagree (next_seqnum %llu, next_index %llu); "
			  "run fsck",
			  fs->dev->path, (unsigned long long)lh->lh_next_seqnum,
			  (unsigned long long)idx);
		return -EUCLEAN;
	}
	if (idx != fs->stats.entries) {
		famfs_err("%s: log entry %llu is not replayed; run fsck", fs->dev->path,
			  (unsigned long long)fs->stats.entries);
		return -EUCLEAN;
	}
	if (idx > lh->lh_last_index) {
		int rc = fs_compact(fs);

		idx = lh->lh_next_index;
		if (rc || idx > lh->lh_last_index) {
			famfs_err("%s: the log is full (%llu entries)%s; no more changes can be "
				  "logged",
				  fs->dev->path, (unsigned long long)idx,
				  rc == -EBUSY ? " and cannot be compacted now" : "");
			return -ENOSPC;
		}
	}
	le->le_seqnum = idx;
	le->le_pad = 0;
	le->le_crc = famfs_log_entry_crc(le);
	slot = &lh->lh_entries[idx];
	memcpy(slot, le, sizeof(*le));
	famfs_cache_flush(slot, sizeof(*slot));
	/* The entry is now the commit point; publish it. */
	__atomic_store_n(&lh->lh_next_seqnum, idx + 1, __ATOMIC_RELEASE);
	__atomic_store_n(&lh->lh_next_index, idx + 1, __ATOMIC_RELEASE);
	famfs_cache_flush(&lh->lh_next_seqnum, 2 * sizeof(uint64_t));

	pthread_rwlock_wrlock(&fs->ns_lock);
	fs_apply_entry(fs, idx, slot);
	fs->stats.entries = idx + 1;
	fs->has_inflight = false; /* the entry now claims what was allocated for it */
	pthread_rwlock_unlock(&fs->ns_lock);
	fs_hosts_publish(fs);
	return 0;
}

size_t famfs_fs_pending(struct famfs_fs *fs, struct famfs_pending_info *out, size_t max)
{
	for (size_t i = 0; i < fs->npending && i < max; i++) {
		out[i].off = fs->pending[i].off;
		out[i].len = fs->pending[i].len;
		out[i].freed_at = fs->pending[i].freed_at;
	}
	return fs->npending;
}

uint64_t famfs_fs_pending_bytes(struct famfs_fs *fs)
{
	return fs_pending_bytes(fs);
}

uint64_t famfs_fs_generation(const struct famfs_fs *fs)
{
	return fs->generation;
}
