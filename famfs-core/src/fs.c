/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file fs.c
 * @brief Open, replay, lock, append, mkdir and creat (see famfs/fs.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "famfs/cache.h"
#include "famfs/fs.h"
#include "famfs/io.h"
#include "famfs/path.h"
#include "internal.h"

struct famfs_fs {
	struct famfs_dev *dev;
	struct famfs_superblock *sb;      /* in the mapping */
	struct famfs_log_header *log;     /* in the mapping */
	uint8_t system_uuid[FAMFS_UUID_LEN];
	enum famfs_role role;
	struct famfs_ns ns;               /* protected by ns_lock */
	struct famfs_bitmap bm;           /* protected by ns_lock; allocation also by mutex */
	struct famfs_replay_stats stats;  /* stats.entries is the replay cursor */
	pthread_rwlock_t ns_lock;
	pthread_mutex_t mutex;            /* appender lock, with flock on dev->fd */
	pthread_t owner;
	int depth;                        /* recursion of famfs_fs_lock() by owner */
	uint64_t alloc_cursor;            /* first-fit cursor, reset per locked session */
	bool stalled;
	char stall[256];
};

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

/* ------------------------------------------------------------------ payload checks */

static int check_extent(const struct famfs_omf_extent *e, const struct famfs_superblock *sb,
			const char *what, unsigned int k, char *why, size_t whylen)
{
	uint64_t unit = sb->sb_alloc_unit;
	uint64_t data_start = FAMFS_LOG_OFFSET + sb->sb_log_len;

	if (e->ext_devindex != 0) {
		famfs_why(why, whylen, "%s %u: devindex %llu (only device 0 exists)", what, k,
			  (unsigned long long)e->ext_devindex);
		return -EINVAL;
	}
	if (e->ext_offset == 0 || e->ext_len == 0) {
		famfs_why(why, whylen, "%s %u: offset or length is 0", what, k);
		return -EINVAL;
	}
	if (e->ext_offset % unit || e->ext_len % unit) {
		famfs_why(why, whylen, "%s %u: offset 0x%llx or length 0x%llx is not a multiple of "
			  "the allocation unit", what, k, (unsigned long long)e->ext_offset,
			  (unsigned long long)e->ext_len);
		return -EINVAL;
	}
	if (e->ext_offset < data_start || e->ext_offset > sb->sb_daxdev.dd_size ||
	    e->ext_len > sb->sb_daxdev.dd_size - e->ext_offset) {
		famfs_why(why, whylen, "%s %u: [0x%llx, +0x%llx) is outside the data area "
			  "[0x%llx, 0x%llx)", what, k, (unsigned long long)e->ext_offset,
			  (unsigned long long)e->ext_len, (unsigned long long)data_start,
			  (unsigned long long)sb->sb_daxdev.dd_size);
		return -EINVAL;
	}
	return 0;
}

static int check_relpath_field(const char *field, char *why, size_t whylen)
{
	char reason[160];
	int rc;

	if (!memchr(field, '\0', FAMFS_MAX_PATHLEN)) {
		famfs_why(why, whylen, "path is not NUL-terminated within %d bytes",
			  FAMFS_MAX_PATHLEN);
		return -EINVAL;
	}
	rc = famfs_relpath_check(field, reason, sizeof(reason));
	if (rc) {
		famfs_why(why, whylen, "%s", reason);
		return -EINVAL;
	}
	return 0;
}

int famfs_entry_check_payload(const struct famfs_log_entry *le,
			      const struct famfs_superblock *sb, char *why, size_t whylen)
{
	const struct famfs_omf_file *f = &le->le_file;
	const struct famfs_omf_fmap *m = &f->fm_fmap;
	int rc;

	if (le->le_type == FAMFS_LOG_MKDIR)
		return check_relpath_field(le->le_mkdir.md_relpath, why, whylen);
	if (le->le_type != FAMFS_LOG_FILE)
		return 0;
	rc = check_relpath_field(f->fm_relpath, why, whylen);
	if (rc)
		return rc;
	if (f->fm_size == 0) {
		famfs_why(why, whylen, "'%s': file size 0", f->fm_relpath);
		return -EINVAL;
	}
	if (m->fmap_ext_type == FAMFS_EXT_SIMPLE) {
		if (m->fmap_count < 1 || m->fmap_count > FAMFS_MAX_SIMPLE_EXT) {
			famfs_why(why, whylen, "'%s': %u simple extents (1..%d allowed)",
				  f->fm_relpath, m->fmap_count, FAMFS_MAX_SIMPLE_EXT);
			return -EINVAL;
		}
		for (uint32_t k = 0; k < m->fmap_count; k++) {
			char r[200];

			rc = check_extent(&m->se[k], sb, "extent", k, r, sizeof(r));
			if (rc) {
				famfs_why(why, whylen, "'%s': %s", f->fm_relpath, r);
				return rc;
			}
		}
	} else if (m->fmap_ext_type == FAMFS_EXT_INTERLEAVE) {
		const struct famfs_omf_interleave *ie = &m->ie[0];

		if (m->fmap_count != 1) {
			famfs_why(why, whylen, "'%s': %u interleaved extents (exactly 1 allowed)",
				  f->fm_relpath, m->fmap_count);
			return -EINVAL;
		}
		if (ie->ie_nstrips < 1 || ie->ie_nstrips > FAMFS_MAX_STRIPS) {
			famfs_why(why, whylen, "'%s': %llu strips (1..%d allowed)", f->fm_relpath,
				  (unsigned long long)ie->ie_nstrips, FAMFS_MAX_STRIPS);
			return -EINVAL;
		}
		if (!ie->ie_chunk_size || (ie->ie_chunk_size & (ie->ie_chunk_size - 1)) ||
		    ie->ie_chunk_size % sb->sb_alloc_unit) {
			famfs_why(why, whylen, "'%s': chunk size 0x%llx is not a power-of-two "
				  "multiple of the allocation unit", f->fm_relpath,
				  (unsigned long long)ie->ie_chunk_size);
			return -EINVAL;
		}
		for (uint32_t k = 0; k < ie->ie_nstrips; k++) {
			char r[200];

			rc = check_extent(&ie->ie_strips[k], sb, "strip", k, r, sizeof(r));
			if (rc) {
				famfs_why(why, whylen, "'%s': %s", f->fm_relpath, r);
				return rc;
			}
		}
	} else {
		famfs_why(why, whylen, "'%s': unknown extent type %u", f->fm_relpath,
			  m->fmap_ext_type);
		return -EINVAL;
	}
	if (famfs_fmap_capacity(m) < f->fm_size) {
		famfs_why(why, whylen, "'%s': size %llu exceeds its %llu allocated bytes",
			  f->fm_relpath, (unsigned long long)f->fm_size,
			  (unsigned long long)famfs_fmap_capacity(m));
		return -EINVAL;
	}
	return 0;
}

/* ------------------------------------------------------------------ replay */

/* Apply one valid entry to the namespace and bitmap. Caller holds ns_lock for writing. */
static void apply_entry(struct famfs_fs *fs, uint64_t index, const struct famfs_log_entry *le)
{
	char parent_path[FAMFS_RELPATH_MAX + 1], why[256];
	struct famfs_inode tmpl, *parent;
	const char *path, *name;
	int rc;

	if (le->le_type == FAMFS_LOG_FILE) {
		/* The bitmap honours every claimed extent, whatever becomes of the path. */
		fs->stats.collisions += famfs_bitmap_mark_fmap(&fs->bm, &le->le_file.fm_fmap);
	} else if (le->le_type != FAMFS_LOG_MKDIR) {
		fs->stats.other++;
		return;
	}
	rc = famfs_entry_check_payload(le, fs->sb, why, sizeof(why));
	if (rc) {
		famfs_warn("log entry %llu skipped: %s", (unsigned long long)index, why);
		fs->stats.rejected++;
		return;
	}
	memset(&tmpl, 0, sizeof(tmpl));
	tmpl.log_index = index;
	if (le->le_type == FAMFS_LOG_FILE) {
		const struct famfs_omf_file *f = &le->le_file;

		path = f->fm_relpath;
		tmpl.mode = S_IFREG | (f->fm_mode & 07777);
		tmpl.uid = f->fm_uid;
		tmpl.gid = f->fm_gid;
		tmpl.size = f->fm_size;
		tmpl.flags = f->fm_flags;
		tmpl.fmap = f->fm_fmap;
	} else {
		const struct famfs_omf_mkdir *d = &le->le_mkdir;

		path = d->md_relpath;
		tmpl.mode = S_IFDIR | (d->md_mode & 07777);
		tmpl.uid = d->md_uid;
		tmpl.gid = d->md_gid;
	}
	name = famfs_relpath_split(path, parent_path);
	rc = famfs_ns_resolve(&fs->ns, parent_path, &parent);
	if (rc == 0 && !S_ISDIR(parent->mode))
		rc = -ENOTDIR;
	if (rc) {
		famfs_warn("log entry %llu skipped: parent of '%s' %s", (unsigned long long)index,
			   path, rc == -ENOENT ? "does not exist" : "is not a directory");
		fs->stats.rejected++;
		return;
	}
	rc = famfs_ns_add(&fs->ns, parent, name, &tmpl, NULL);
	if (rc == -EEXIST) {
		fs->stats.existed++;
		return;
	}
	if (rc) {
		famfs_warn("log entry %llu skipped: '%s': %s", (unsigned long long)index, path,
			   strerror(-rc));
		fs->stats.rejected++;
		return;
	}
	if (le->le_type == FAMFS_LOG_FILE)
		fs->stats.files++;
	else
		fs->stats.dirs++;
}

int famfs_fs_refresh(struct famfs_fs *fs)
{
	struct famfs_log_header *lh = fs->log;
	uint64_t next, i, applied = 0;
	char why[200];

	famfs_cache_invalidate(lh, FAMFS_LOG_HEADER_SIZE);
	next = __atomic_load_n(&lh->lh_next_index, __ATOMIC_ACQUIRE);
	if (next > lh->lh_last_index + 1)
		next = lh->lh_last_index + 1;
	if (next <= fs->stats.entries)
		return 0;
	famfs_cache_invalidate(&lh->lh_entries[fs->stats.entries],
			       (next - fs->stats.entries) * FAMFS_LOG_ENTRY_SIZE);
	pthread_rwlock_wrlock(&fs->ns_lock);
	for (i = fs->stats.entries; i < next; i++) {
		const struct famfs_log_entry *le = &lh->lh_entries[i];

		if (famfs_log_entry_check(le, i, NULL, 0)) {
			famfs_cache_invalidate(le, sizeof(*le));
			if (famfs_log_entry_check(le, i, why, sizeof(why))) {
				if (!fs->stalled || strcmp(fs->stall, why))
					famfs_err("replay stopped: %s", why);
				fs->stalled = true;
				snprintf(fs->stall, sizeof(fs->stall), "%s", why);
				pthread_rwlock_unlock(&fs->ns_lock);
				return -EBADMSG;
			}
		}
		apply_entry(fs, i, le);
		fs->stats.entries = i + 1;
		applied++;
	}
	fs->stalled = false;
	pthread_rwlock_unlock(&fs->ns_lock);
	return (int)applied;
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
	famfs_cache_invalidate(fs->log, fs->sb->sb_log_len);
	rc = famfs_log_header_check(fs->log, fs->sb, why, sizeof(why));
	if (rc) {
		famfs_err("%s: %s", devpath, why);
		goto err_dev;
	}
	rc = famfs_system_uuid(opts->system_uuid, fs->system_uuid);
	if (rc)
		goto err_dev;
	fs->role = memcmp(fs->system_uuid, fs->sb->sb_system_uuid, FAMFS_UUID_LEN) == 0 &&
				   !opts->readonly
			   ? FAMFS_ROLE_MASTER
			   : FAMFS_ROLE_CLIENT;
	rc = famfs_ns_init(&fs->ns);
	if (rc)
		goto err_dev;
	rc = famfs_bitmap_init(&fs->bm, fs->sb->sb_daxdev.dd_size, fs->sb->sb_alloc_unit,
			       FAMFS_LOG_OFFSET + fs->sb->sb_log_len);
	if (rc)
		goto err_ns;
	rc = famfs_fs_refresh(fs);
	if (rc < 0 && rc != -EBADMSG)
		goto err_bm;
	*out = fs;
	return 0;

err_bm:
	famfs_bitmap_fini(&fs->bm);
err_ns:
	famfs_ns_fini(&fs->ns);
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
	famfs_bitmap_fini(&fs->bm);
	famfs_ns_fini(&fs->ns);
	famfs_dev_close(fs->dev);
	pthread_mutex_destroy(&fs->mutex);
	pthread_rwlock_destroy(&fs->ns_lock);
	free(fs);
}

/* ------------------------------------------------------------------ the appender lock */

int famfs_fs_lock(struct famfs_fs *fs)
{
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
	pthread_mutex_lock(&fs->mutex);
	while (flock(fs->dev->fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			rc = -errno;
			famfs_err("%s: cannot take the log lock: %s", fs->dev->path,
				  strerror(errno));
			pthread_mutex_unlock(&fs->mutex);
			return rc;
		}
	}
	fs->owner = pthread_self();
	fs->depth = 1;
	fs->alloc_cursor = 0;
	rc = famfs_fs_refresh(fs);
	if (rc < 0) {
		famfs_fs_unlock(fs);
		return rc;
	}
	return 0;
}

void famfs_fs_unlock(struct famfs_fs *fs)
{
	if (--fs->depth > 0)
		return;
	flock(fs->dev->fd, LOCK_UN);
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
			  "run fsck", fs->dev->path, (unsigned long long)lh->lh_next_seqnum,
			  (unsigned long long)idx);
		return -EUCLEAN;
	}
	if (idx != fs->stats.entries) {
		famfs_err("%s: log entry %llu is not replayed; run fsck", fs->dev->path,
			  (unsigned long long)fs->stats.entries);
		return -EUCLEAN;
	}
	if (idx > lh->lh_last_index) {
		famfs_err("%s: the log is full (%llu entries); no more changes can be logged",
			  fs->dev->path, (unsigned long long)idx);
		return -ENOSPC;
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
	apply_entry(fs, idx, slot);
	fs->stats.entries = idx + 1;
	pthread_rwlock_unlock(&fs->ns_lock);
	return 0;
}

/* ------------------------------------------------------------------ mkdir / creat */

int famfs_fs_resolve(struct famfs_fs *fs, const char *relpath, struct famfs_inode **out)
{
	return famfs_ns_resolve(&fs->ns, relpath, out);
}

/* Common checks before logging @relpath: path rules, parent, not existing. */
static int prepare_create(struct famfs_fs *fs, const char *relpath)
{
	char parent_path[FAMFS_RELPATH_MAX + 1], why[200];
	struct famfs_inode *parent, *existing;
	const char *name;
	int rc;

	rc = famfs_relpath_check(relpath, why, sizeof(why));
	if (rc) {
		famfs_err("%s", why);
		return rc;
	}
	name = famfs_relpath_split(relpath, parent_path);
	rc = famfs_ns_resolve(&fs->ns, parent_path, &parent);
	if (rc == 0 && !S_ISDIR(parent->mode))
		rc = -ENOTDIR;
	if (rc) {
		famfs_err("'%s': parent directory '%s' %s", relpath, parent_path,
			  rc == -ENOENT ? "does not exist" : "is not a directory");
		return rc;
	}
	existing = famfs_ns_lookup(&fs->ns, parent, name, strlen(name));
	if (existing) {
		famfs_err("'%s': already exists", relpath);
		return -EEXIST;
	}
	return 0;
}

int famfs_fs_mkdir(struct famfs_fs *fs, const char *relpath, mode_t mode, uid_t uid, gid_t gid,
		   struct famfs_inode **out)
{
	struct famfs_log_entry le;
	int rc;

	rc = famfs_fs_lock(fs);
	if (rc)
		return rc;
	rc = prepare_create(fs, relpath);
	if (rc)
		goto out_unlock;
	memset(&le, 0, sizeof(le));
	le.le_type = FAMFS_LOG_MKDIR;
	le.le_mkdir.md_uid = uid;
	le.le_mkdir.md_gid = gid;
	le.le_mkdir.md_mode = mode & 07777;
	memcpy(le.le_mkdir.md_relpath, relpath, strlen(relpath) + 1);
	rc = famfs_fs_append(fs, &le);
	if (rc == 0 && out)
		rc = famfs_ns_resolve(&fs->ns, relpath, out);
out_unlock:
	famfs_fs_unlock(fs);
	return rc;
}

int famfs_fs_mkdir_p(struct famfs_fs *fs, const char *relpath, mode_t mode, uid_t uid,
		     gid_t gid, struct famfs_inode **out)
{
	char prefix[FAMFS_RELPATH_MAX + 1], why[200];
	struct famfs_inode *ino;
	const char *c = relpath;
	int rc;

	rc = famfs_relpath_check(relpath, why, sizeof(why));
	if (rc) {
		famfs_err("%s", why);
		return rc;
	}
	rc = famfs_fs_lock(fs);
	if (rc)
		return rc;
	for (;;) {
		const char *e = strchr(c, '/');
		size_t n = e ? (size_t)(e - relpath) : strlen(relpath);

		memcpy(prefix, relpath, n);
		prefix[n] = '\0';
		rc = famfs_ns_resolve(&fs->ns, prefix, &ino);
		if (rc == -ENOENT)
			rc = famfs_fs_mkdir(fs, prefix, mode, uid, gid, &ino);
		else if (rc == 0 && !S_ISDIR(ino->mode)) {
			famfs_err("'%s': exists and is not a directory", prefix);
			rc = -ENOTDIR;
		}
		if (rc || !e)
			break;
		c = e + 1;
	}
	if (rc == 0 && out)
		*out = ino;
	famfs_fs_unlock(fs);
	return rc;
}

int famfs_fs_creat(struct famfs_fs *fs, const char *relpath, uint64_t size, mode_t mode,
		   uid_t uid, gid_t gid, const struct famfs_alloc_params *ap,
		   struct famfs_inode **out)
{
	struct famfs_log_entry le;
	struct famfs_omf_fmap fmap;
	int rc;

	if (size == 0) {
		famfs_err("'%s': size must be greater than 0", relpath);
		return -EINVAL;
	}
	rc = famfs_fs_lock(fs);
	if (rc)
		return rc;
	rc = prepare_create(fs, relpath);
	if (rc)
		goto out_unlock;
	if (fs->log->lh_next_index > fs->log->lh_last_index) {
		famfs_err("%s: the log is full (%llu entries); '%s' not created", fs->dev->path,
			  (unsigned long long)fs->log->lh_next_index, relpath);
		rc = -ENOSPC;
		goto out_unlock;
	}
	pthread_rwlock_wrlock(&fs->ns_lock);
	if (famfs_alloc_params_interleaved(ap))
		rc = famfs_alloc_interleaved(&fs->bm, size, ap, &fs->alloc_cursor, &fmap);
	else
		rc = famfs_alloc_contig(&fs->bm, size, &fs->alloc_cursor, &fmap);
	/* The bits go back so that replaying our own entry marks them without collision. */
	if (rc == 0)
		famfs_bitmap_clear_fmap(&fs->bm, &fmap);
	pthread_rwlock_unlock(&fs->ns_lock);
	if (rc) {
		if (rc == -ENOSPC)
			famfs_err("'%s': no free space for %llu bytes on %s (%llu bytes free)",
				  relpath, (unsigned long long)size, fs->dev->path,
				  (unsigned long long)famfs_bitmap_free_bytes(&fs->bm));
		goto out_unlock;
	}
	memset(&le, 0, sizeof(le));
	le.le_type = FAMFS_LOG_FILE;
	le.le_file.fm_size = size;
	le.le_file.fm_flags = FAMFS_FM_ALL_HOSTS_RW;
	le.le_file.fm_uid = uid;
	le.le_file.fm_gid = gid;
	le.le_file.fm_mode = mode & 07777;
	memcpy(le.le_file.fm_relpath, relpath, strlen(relpath) + 1);
	le.le_file.fm_fmap = fmap;
	rc = famfs_fs_append(fs, &le);
	if (rc == 0 && out)
		rc = famfs_ns_resolve(&fs->ns, relpath, out);
out_unlock:
	famfs_fs_unlock(fs);
	return rc;
}
