// SPDX-License-Identifier: Apache-2.0
/**
 * @file fuse_fs.c
 * @brief `famfs-gw mount`: a libfuse3 low-level daemon serving famfs from the mapped
 *        device (see fuse_fs.h for what it owns, its invariants and its locking).
 *
 * The shape follows libfuse's passthrough_ll example: static fm_* operations gathered in
 * one const table, each sending exactly one reply. Errors from famfs-core arrive as
 * -errno and are replied as errno, once, at the end of each operation.
 *
 * Limits: famfs holds only regular files and directories (symlink, link and mknod answer
 * EPERM); a path inside famfs holds at most 79 bytes (ENAMETOOLONG); hard links are
 * never counted (files 1, directories 2).
 */
#define FUSE_USE_VERSION 34

#include <errno.h>
#include <fuse_lowlevel.h>
#include <linux/fs.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "famfs/io.h"
#include "famfs/msg.h"
#include "famfs/path.h"
#include "fuse_fs.h"
#include "gw.h"

_Static_assert(sizeof(fuse_ino_t) >= sizeof(uint64_t), "fuse_ino_t must hold a famfs inode");

/** More recorded changes than this between two follow steps: invalidate everything. */
#define FM_MAX_CHANGES 16384

/** An inode the kernel knows. All fields are protected by fm_data.lock. */
struct fm_node {
	uint64_t ino;
	uint64_t nlookup;	      /* lookups not yet forgotten */
	uint64_t parent;	      /* directory of the last lookup */
	char name[FAMFS_MAX_PATHLEN]; /* name of the last lookup */
	struct famfs_omf_fmap fmap;   /* the map resolved at lookup (files) */
	uint64_t size;		      /* the size that went with it */
	uint32_t opens;		      /* open files of this inode */
	struct famfs_inode *pinned;   /* the inode they pinned (while opens > 0) */
	struct fm_node *next;	      /* hash chain */
};

/** An open file (fi->fh). */
struct fm_file {
	uint64_t ino;
	struct famfs_inode *pinned; /* held with famfs_fs_pin until release */
};

/** An open directory (fi->fh): the entries as of opendir, sorted by inode number. */
struct fm_dirent {
	uint64_t ino;
	bool is_dir;
	char name[FAMFS_MAX_PATHLEN];
};
struct fm_dir {
	uint64_t ino;
	uint64_t parent;
	size_t n;
	struct fm_dirent *ents;
};

struct fm_change {
	uint64_t ino, parent;
	unsigned int what;
};

struct fm_data {
	struct famfs_fs *fs;
	struct fuse_session *se;
	const struct fm_opts *opts;

	pthread_mutex_t lock; /* nodes and changes */
	struct fm_node **nodes;
	size_t nbuckets;
	size_t nnodes;
	struct fm_change *changes;
	size_t nchanges, capchanges;
	bool reset;

	pthread_t follower;
	pthread_cond_t cond; /* wakes the follower (stop) */
	bool stop;
	bool ra_pending;   /* set the read-ahead at the first request */
	uint64_t notified; /* notifications sent (statistics) */
};

static pthread_key_t fm_buf_key;

static inline struct fm_data *fm_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* ------------------------------------------------------------------ the node table */

static size_t fm_hash(const struct fm_data *fm, uint64_t ino)
{
	return (size_t)((ino * 0x9E3779B97F4A7C15ULL) >> 20) & (fm->nbuckets - 1);
}

/* The node of @ino, or NULL; the caller holds fm->lock. */
static struct fm_node *fm_node_find(struct fm_data *fm, uint64_t ino)
{
	struct fm_node *n;

	for (n = fm->nodes[fm_hash(fm, ino)]; n; n = n->next)
		if (n->ino == ino)
			return n;
	return NULL;
}

static void fm_node_grow(struct fm_data *fm)
{
	size_t nb = fm->nbuckets * 2, k;
	struct fm_node **b = calloc(nb, sizeof(*b)), *n, *next;
	struct fm_node **old = fm->nodes;
	size_t oldn = fm->nbuckets;

	if (!b)
		return; /* longer chains, still correct */
	fm->nodes = b;
	fm->nbuckets = nb;
	for (k = 0; k < oldn; k++) {
		for (n = old[k]; n; n = next) {
			next = n->next;
			n->next = b[fm_hash(fm, n->ino)];
			b[fm_hash(fm, n->ino)] = n;
		}
	}
	free(old);
}

/**
 * Count one lookup of @p i (found as @p name in @p parent) and keep its map.
 * @return 0 or -ENOMEM.
 */
static int fm_node_ref(struct fm_data *fm, const struct famfs_inode *i, uint64_t parent,
		       const char *name)
{
	struct fm_node *n;
	int rc = 0;

	pthread_mutex_lock(&fm->lock);
	n = fm_node_find(fm, i->ino);
	if (!n) {
		n = calloc(1, sizeof(*n));
		if (!n) {
			rc = -ENOMEM;
			goto out;
		}
		n->ino = i->ino;
		n->fmap = i->fmap;
		n->size = i->size;
		if (fm->nnodes >= fm->nbuckets * 2)
			fm_node_grow(fm);
		n->next = fm->nodes[fm_hash(fm, n->ino)];
		fm->nodes[fm_hash(fm, n->ino)] = n;
		fm->nnodes++;
	}
	n->nlookup++;
	n->parent = parent;
	snprintf(n->name, sizeof(n->name), "%s", name);
out:
	pthread_mutex_unlock(&fm->lock);
	return rc;
}

/* Drop @count lookups of @ino; the node goes with the last. */
static void fm_node_forget(struct fm_data *fm, uint64_t ino, uint64_t count)
{
	struct fm_node **pp, *n;

	pthread_mutex_lock(&fm->lock);
	for (pp = &fm->nodes[fm_hash(fm, ino)]; (n = *pp); pp = &n->next) {
		if (n->ino != ino)
			continue;
		n->nlookup = count >= n->nlookup ? 0 : n->nlookup - count;
		if (n->nlookup == 0 && ino != FAMFS_ROOT_INO) {
			*pp = n->next;
			free(n);
			fm->nnodes--;
		}
		break;
	}
	pthread_mutex_unlock(&fm->lock);
}

/* ------------------------------------------------------------------ attributes */

static void fm_ns_to_ts(uint64_t ns, struct timespec *ts)
{
	ts->tv_sec = (time_t)(ns / 1000000000ULL);
	ts->tv_nsec = (long)(ns % 1000000000ULL);
}

/* struct stat of @i; the caller holds the namespace read lock. */
static void fm_stat(const struct famfs_inode *i, struct stat *st)
{
	bool dir = S_ISDIR(i->mode);

	memset(st, 0, sizeof(*st));
	st->st_ino = i->ino;
	st->st_mode = i->mode;
	st->st_nlink = dir ? 2 : (i->removed_at != UINT64_MAX ? 0 : 1);
	st->st_uid = i->uid;
	st->st_gid = i->gid;
	st->st_size = dir ? 4096 : (off_t)i->size;
	st->st_blksize = 1 << 20;
	st->st_blocks = dir ? 8 : (blkcnt_t)(famfs_fmap_capacity(&i->fmap) / 512);
	fm_ns_to_ts(i->mtime_ns, &st->st_mtim);
	fm_ns_to_ts(i->ctime_ns, &st->st_ctim);
	fm_ns_to_ts(i->atime_ns ? i->atime_ns : i->mtime_ns, &st->st_atim);
}

/*
 * The inode @ino for an operation: the linked one, or, for an open file (@f), the one it
 * pinned when it was removed while open (POSIX: I/O and fstat keep working).
 * The caller holds the namespace read lock.
 */
static struct famfs_inode *fm_inode(struct fm_data *fm, uint64_t ino, const struct fm_file *f)
{
	struct famfs_inode *i = famfs_ns_get(famfs_fs_ns(fm->fs), ino);

	struct fm_node *n;

	if (i)
		return i;
	if (f && f->pinned && f->pinned->ino == ino)
		return f->pinned;
	/* fstat() of an open, removed file comes without its file handle. */
	pthread_mutex_lock(&fm->lock);
	n = fm_node_find(fm, ino);
	i = n && n->opens ? n->pinned : NULL;
	pthread_mutex_unlock(&fm->lock);
	return i;
}

static void fm_entry(struct fm_data *fm, const struct famfs_inode *i, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = i->ino;
	e->generation = 1;
	e->attr_timeout = fm->opts->timeout;
	e->entry_timeout = fm->opts->timeout;
	fm_stat(i, &e->attr);
}

/* ------------------------------------------------------------------ lookup, getattr */

/*
 * Raise the kernel's read-ahead for this mount to @kb KiB: FUSE starts at 128 KiB, so a
 * sequential reader would send 128 KiB requests although the session takes 1 MiB ones.
 * The kernel takes the read-ahead from the INIT reply as min(its own, ours), so this
 * is done after INIT, at the first request (every request waits for INIT's reply).
 * The mount's device number comes from mountinfo (stat() on our own mount from here
 * would wait for ourselves). Root only; failure only costs speed.
 */
static void fm_set_read_ahead(const char *mp, unsigned int kb)
{
	char devno[64], path[128];
	int rc;
	FILE *f;

	if (!kb || gw_mountinfo_find(mp, devno, sizeof(devno), NULL, 0) != 1)
		return;
	snprintf(path, sizeof(path), "/sys/class/bdi/%s/read_ahead_kb", devno);
	f = fopen(path, "w");
	if (!f) {
		rc = -errno;
	} else {
		rc = fprintf(f, "%u\n", kb) < 0 ? -EIO : 0;
		if (fclose(f) && !rc)
			rc = -errno;
	}
	if (rc)
		gw_mount_log(FAMFS_MSG_DEBUG, "%s: cannot set read-ahead to %u KiB: %s", path, kb,
			     strerror(-rc));
	else
		gw_mount_log(FAMFS_MSG_INFO, "%s: read-ahead %u KiB", mp, kb);
}

static inline void fm_after_init(struct fm_data *fm)
{
	if (__atomic_load_n(&fm->ra_pending, __ATOMIC_RELAXED) &&
	    __atomic_exchange_n(&fm->ra_pending, false, __ATOMIC_ACQ_REL))
		fm_set_read_ahead(fm->opts->mountpoint, fm->opts->read_ahead_kb);
}

static void fm_init(void *userdata, struct fuse_conn_info *conn)
{
	struct fm_data *fm = userdata;

	/* No write-back cache: every write reaches the memory (and is flushed) before the
	 * reply, as other hosts read it directly. */
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	/* Data changes of other hosts are announced through notify_inval_inode. */
	conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
	conn->want &= ~FUSE_CAP_READDIRPLUS;
	fm->ra_pending = fm->opts->read_ahead_kb > 0;
	gw_mount_log(FAMFS_MSG_INFO, "%s: FUSE protocol %u.%u, max write %u", fm->opts->mountpoint,
		     conn->proto_major, conn->proto_minor, conn->max_write);
}

static void fm_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fm_data *fm = fm_of(req);
	struct fuse_entry_param e;
	struct famfs_inode *d, *c = NULL;
	int rc;

	fm_after_init(fm);
	famfs_fs_rdlock(fm->fs);
	rc = famfs_ns_get_dir(famfs_fs_ns(fm->fs), parent, &d);
	if (!rc && strlen(name) > FAMFS_RELPATH_MAX)
		rc = -ENAMETOOLONG;
	if (!rc && !(c = famfs_ns_lookup(famfs_fs_ns(fm->fs), d, name, strlen(name))))
		rc = -ENOENT;
	if (!rc) {
		fm_entry(fm, c, &e);
		rc = fm_node_ref(fm, c, parent, name);
	}
	famfs_fs_rdunlock(fm->fs);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_entry(req, &e);
}

static void fm_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	fm_node_forget(fm_of(req), ino, nlookup);
	fuse_reply_none(req);
}

static void fm_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	for (size_t k = 0; k < count; k++)
		fm_node_forget(fm_of(req), forgets[k].ino, forgets[k].nlookup);
	fuse_reply_none(req);
}

static void fm_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fm_data *fm = fm_of(req);
	struct famfs_inode *i;
	struct stat st;

	fm_after_init(fm);
	famfs_fs_rdlock(fm->fs);
	i = fm_inode(fm, ino, fi ? (const struct fm_file *)(uintptr_t)fi->fh : NULL);
	if (i)
		fm_stat(i, &st);
	famfs_fs_rdunlock(fm->fs);
	if (!i)
		fuse_reply_err(req, ENOENT);
	else
		fuse_reply_attr(req, &st, fm->opts->timeout);
}

/* ------------------------------------------------------------------ changes (master) */

/* 0 when this mount may change the namespace, else -EROFS. */
static int fm_writable(struct fm_data *fm)
{
	return fm->opts->readonly ? -EROFS : 0;
}

/* Start a namespace change: a writable mount, then this host's appender lock. */
static int fm_begin_change(struct fm_data *fm)
{
	int rc = fm_writable(fm);

	return rc ? rc : famfs_fs_lock(fm->fs);
}

static uint64_t fm_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t fm_ts_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000ULL + (uint64_t)ts->tv_nsec;
}

static void fm_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	struct fm_data *fm = fm_of(req);
	const struct fm_file *f = fi ? (const struct fm_file *)(uintptr_t)fi->fh : NULL;
	uint32_t valid = 0;
	uint64_t mtime = 0, atime = 0;
	struct famfs_inode *i;
	struct stat st;
	int rc = fm_begin_change(fm);

	if (rc)
		goto out;
	famfs_fs_rdlock(fm->fs);
	i = fm_inode(fm, ino, f);
	famfs_fs_rdunlock(fm->fs);
	if (!i) {
		rc = -ENOENT;
		goto out_unlock;
	}
	if (to_set & FUSE_SET_ATTR_SIZE) {
		if (S_ISDIR(i->mode)) {
			rc = -EISDIR;
			goto out_unlock;
		}
		if ((uint64_t)attr->st_size != i->size) {
			rc = famfs_fs_resize(fm->fs, i, (uint64_t)attr->st_size);
			if (rc)
				goto out_unlock;
		}
	}
	if (to_set & FUSE_SET_ATTR_MODE)
		valid |= FAMFS_ATTR_MODE;
	if (to_set & FUSE_SET_ATTR_UID)
		valid |= FAMFS_ATTR_UID;
	if (to_set & FUSE_SET_ATTR_GID)
		valid |= FAMFS_ATTR_GID;
	if (to_set & (FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW)) {
		valid |= FAMFS_ATTR_MTIME;
		mtime = (to_set & FUSE_SET_ATTR_MTIME_NOW) ? fm_now_ns() : fm_ts_ns(&attr->st_mtim);
	}
	if (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_ATIME_NOW)) {
		valid |= FAMFS_ATTR_ATIME;
		atime = (to_set & FUSE_SET_ATTR_ATIME_NOW) ? fm_now_ns() : fm_ts_ns(&attr->st_atim);
	}
	if (valid)
		rc = famfs_fs_setattr(fm->fs, i, valid, attr->st_mode, attr->st_uid, attr->st_gid,
				      mtime, atime);
out_unlock:
	famfs_fs_unlock(fm->fs);
out:
	if (rc == 0) {
		famfs_fs_rdlock(fm->fs);
		i = fm_inode(fm, ino, f);
		if (i)
			fm_stat(i, &st);
		famfs_fs_rdunlock(fm->fs);
		if (!i)
			rc = -ENOENT;
	}
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, &st, fm->opts->timeout);
}

/* The entry of object @ino just made as @name in @parent (found again in this view). */
static int fm_made(struct fm_data *fm, fuse_ino_t parent, const char *name, uint64_t ino,
		   struct fuse_entry_param *e)
{
	struct famfs_inode *i;
	int rc;

	famfs_fs_rdlock(fm->fs);
	i = famfs_ns_get(famfs_fs_ns(fm->fs), ino);
	if (i) {
		fm_entry(fm, i, e);
		rc = fm_node_ref(fm, i, parent, name);
	} else {
		rc = -ENOENT; /* removed by a racing operation */
	}
	famfs_fs_rdunlock(fm->fs);
	return rc;
}

/*
 * mkdir, and mknod of a regular file: one MKDIR or (empty) create entry, then the entry
 * reply for the new object.
 */
static void fm_make(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, bool dir)
{
	struct fm_data *fm = fm_of(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	char rel[FAMFS_RELPATH_MAX + 1];
	struct fuse_entry_param e;
	struct famfs_inode *out = NULL;
	mode_t perm = mode & 07777 & ~ctx->umask;
	uint64_t ino = 0;
	int rc = fm_writable(fm);

	if (!rc)
		rc = famfs_fs_child_relpath(fm->fs, parent, name, rel, sizeof(rel));
	if (!rc)
		rc = famfs_fs_lock(fm->fs);
	if (!rc) {
		rc = dir ? famfs_fs_mkdir(fm->fs, rel, perm, ctx->uid, ctx->gid, &out)
			 : famfs_fs_create(fm->fs, rel, 0, perm, ctx->uid, ctx->gid, NULL, &out);
		if (!rc)
			ino = out->ino;
		famfs_fs_unlock(fm->fs);
	}
	if (!rc)
		rc = fm_made(fm, parent, name, ino, &e);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_entry(req, &e);
}

static void fm_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	fm_make(req, parent, name, mode, true);
}

/* unlink and rmdir: @want_dir says which kind the name must be. */
static void fm_remove(fuse_req_t req, fuse_ino_t parent, const char *name, bool want_dir)
{
	struct fm_data *fm = fm_of(req);
	struct famfs_inode *d, *c;
	int rc = fm_begin_change(fm);

	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	famfs_fs_rdlock(fm->fs);
	d = famfs_ns_get(famfs_fs_ns(fm->fs), parent);
	c = d ? famfs_ns_lookup(famfs_fs_ns(fm->fs), d, name, strlen(name)) : NULL;
	if (!c)
		rc = -ENOENT;
	else if (want_dir && !S_ISDIR(c->mode))
		rc = -ENOTDIR;
	else if (!want_dir && S_ISDIR(c->mode))
		rc = -EISDIR;
	famfs_fs_rdunlock(fm->fs);
	if (!rc)
		rc = famfs_fs_remove(fm->fs, d, name);
	famfs_fs_unlock(fm->fs);
	fuse_reply_err(req, -rc);
}

static void fm_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fm_remove(req, parent, name, false);
}

static void fm_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fm_remove(req, parent, name, true);
}

static void fm_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		      const char *newname, unsigned int flags)
{
	struct fm_data *fm = fm_of(req);
	struct famfs_inode *od, *nd;
	int rc = 0;

	if (flags & RENAME_EXCHANGE)
		rc = -EINVAL; /* one log entry cannot swap two names */
	if (!rc)
		rc = fm_begin_change(fm);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	famfs_fs_rdlock(fm->fs);
	od = famfs_ns_get(famfs_fs_ns(fm->fs), parent);
	nd = famfs_ns_get(famfs_fs_ns(fm->fs), newparent);
	if (!od || !nd)
		rc = -ENOENT;
	else if ((flags & RENAME_NOREPLACE) &&
		 famfs_ns_lookup(famfs_fs_ns(fm->fs), nd, newname, strlen(newname)))
		rc = -EEXIST;
	famfs_fs_rdunlock(fm->fs);
	if (!rc)
		rc = famfs_fs_rename(fm->fs, od, name, nd, newname);
	famfs_fs_unlock(fm->fs);
	fuse_reply_err(req, -rc);
}

static void fm_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	(void)link;
	(void)parent;
	gw_mount_log(FAMFS_MSG_INFO, "symlink %s: famfs holds only files and directories", name);
	fuse_reply_err(req, EPERM);
}

static void fm_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	(void)ino;
	(void)newparent;
	gw_mount_log(FAMFS_MSG_INFO, "link %s: famfs has no hard links", newname);
	fuse_reply_err(req, EPERM);
}

static void fm_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	(void)rdev;
	if (!S_ISREG(mode)) {
		gw_mount_log(FAMFS_MSG_INFO, "mknod %s: famfs holds only files and directories",
			     name);
		fuse_reply_err(req, fm_writable(fm_of(req)) ? EROFS : EPERM);
		return;
	}
	fm_make(req, parent, name, mode, false);
}

/* ------------------------------------------------------------------ open files */

/*
 * Open @ino: pin it, and compare the map kept since lookup with the log's current one.
 * @return 0 (and *out) or -errno.
 */
static int fm_open_ino(struct fm_data *fm, uint64_t ino, struct fuse_file_info *fi)
{
	struct fm_file *f = calloc(1, sizeof(*f));
	struct famfs_inode *i;
	struct fm_node *n;
	bool same = false;

	if (!f)
		return -ENOMEM;
	famfs_fs_rdlock(fm->fs);
	i = famfs_ns_get(famfs_fs_ns(fm->fs), ino);
	if (i) {
		pthread_mutex_lock(&fm->lock);
		n = fm_node_find(fm, ino);
		if (n) {
			same = n->size == i->size && !memcmp(&n->fmap, &i->fmap, sizeof(n->fmap));
			if (!same) {
				gw_mount_log(
				    FAMFS_MSG_DEBUG,
				    "inode %llu: map changed since lookup (size %llu -> %llu)",
				    (unsigned long long)ino, (unsigned long long)n->size,
				    (unsigned long long)i->size);
				n->fmap = i->fmap;
				n->size = i->size;
			}
			if (!S_ISDIR(i->mode)) {
				n->opens++;
				n->pinned = i;
			}
		}
		pthread_mutex_unlock(&fm->lock);
	}
	famfs_fs_rdunlock(fm->fs);
	if (!i) {
		free(f);
		return -ENOENT;
	}
	if (S_ISDIR(i->mode)) {
		free(f);
		return -EISDIR;
	}
	famfs_fs_pin(fm->fs, i);
	f->ino = ino;
	f->pinned = i;
	fi->fh = (uint64_t)(uintptr_t)f;
	fi->keep_cache = fm->opts->kernel_cache && same;
	return 0;
}

/* Truncate @ino to 0 for open(O_TRUNC). */
static int fm_truncate0(struct fm_data *fm, uint64_t ino)
{
	struct famfs_inode *i = famfs_fs_get(fm->fs, ino);

	if (!i)
		return -ENOENT;
	return i->size ? famfs_fs_resize(fm->fs, i, 0) : 0; /* resize refuses directories */
}

static void fm_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fm_data *fm = fm_of(req);
	int rc = 0;

	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC))
		rc = fm_writable(fm);
	if (!rc && (fi->flags & O_TRUNC))
		rc = fm_truncate0(fm, ino); /* the kernel asked for atomic O_TRUNC */
	if (!rc)
		rc = fm_open_ino(fm, ino, fi);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_open(req, fi);
}

static void fm_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	struct fm_data *fm = fm_of(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	char rel[FAMFS_RELPATH_MAX + 1];
	struct fuse_entry_param e;
	struct famfs_inode *out = NULL, *d, *c;
	uint64_t ino = 0;
	int rc = fm_writable(fm);

	if (!rc)
		rc = famfs_fs_child_relpath(fm->fs, parent, name, rel, sizeof(rel));
	if (!rc)
		rc = famfs_fs_lock(fm->fs);
	if (rc)
		goto out;
	/* O_CREAT without O_EXCL on a name another host made since the kernel looked. */
	famfs_fs_rdlock(fm->fs);
	d = famfs_ns_get(famfs_fs_ns(fm->fs), parent);
	c = d ? famfs_ns_lookup(famfs_fs_ns(fm->fs), d, name, strlen(name)) : NULL;
	if (c)
		ino = c->ino;
	famfs_fs_rdunlock(fm->fs);
	if (c && (fi->flags & O_EXCL))
		rc = -EEXIST;
	else if (c && S_ISDIR(c->mode))
		rc = -EISDIR;
	else if (c && (fi->flags & O_TRUNC) && c->size)
		rc = famfs_fs_resize(fm->fs, c, 0);
	else if (!c) {
		rc = famfs_fs_create(fm->fs, rel, 0, mode & 07777 & ~ctx->umask, ctx->uid, ctx->gid,
				     NULL, &out);
		if (!rc)
			ino = out->ino;
	}
	famfs_fs_unlock(fm->fs);
	if (!rc)
		rc = fm_made(fm, parent, name, ino, &e);
	if (!rc) {
		rc = fm_open_ino(fm, ino, fi);
		if (rc)
			fm_node_forget(fm, ino, 1);
	}
out:
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_create(req, &e, fi);
}

static void fm_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fm_data *fm = fm_of(req);
	struct fm_file *f = (struct fm_file *)(uintptr_t)fi->fh;

	struct fm_node *n;

	if (f) {
		pthread_mutex_lock(&fm->lock);
		n = fm_node_find(fm, ino);
		if (n && n->opens && --n->opens == 0)
			n->pinned = NULL;
		pthread_mutex_unlock(&fm->lock);
		famfs_fs_unpin(fm->fs, f->pinned);
		free(f);
	}
	fuse_reply_err(req, 0);
}

static void fm_buf_free(void *p)
{
	free(p);
}

/* A per-thread bounce buffer of at least @len bytes (reads come in up to 1 MiB). */
static void *fm_buf(size_t len)
{
	struct {
		size_t cap;
		char data[];
	} *b = pthread_getspecific(fm_buf_key);

	if (!b || b->cap < len) {
		free(b);
		b = malloc(sizeof(*b) + len);
		if (b)
			b->cap = len;
		pthread_setspecific(fm_buf_key, b);
		if (!b)
			return NULL;
	}
	return b->data;
}

static void fm_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct fm_data *fm = fm_of(req);
	const struct fm_file *f = (const struct fm_file *)(uintptr_t)fi->fh;
	struct famfs_inode *i;
	ssize_t n;
	void *buf = fm_buf(size);

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	famfs_fs_rdlock(fm->fs);
	i = fm_inode(fm, ino, f);
	if (!i)
		n = -ESTALE;
	else
		n = famfs_file_read(fm->fs, i, (uint64_t)off, buf, size,
				    fm->opts->invalidate_reads ? FAMFS_IO_INVALIDATE : 0);
	famfs_fs_rdunlock(fm->fs);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
}

static void fm_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct fm_data *fm = fm_of(req);
	const struct fm_file *f = (const struct fm_file *)(uintptr_t)fi->fh;
	uint64_t end = (uint64_t)off + size;
	struct famfs_inode *i;
	ssize_t n = 0;
	int rc = fm_writable(fm);

	if (rc)
		goto out;
	famfs_fs_rdlock(fm->fs);
	i = fm_inode(fm, ino, f);
	if (i && end > i->size) {
		/* Grow first (appender lock, one XE_RESIZE), then copy under the read lock. */
		famfs_fs_rdunlock(fm->fs);
		rc = famfs_fs_grow(fm->fs, ino, end); /* a removed file cannot grow */
		if (rc)
			goto out;
		famfs_fs_rdlock(fm->fs);
		i = fm_inode(fm, ino, f);
	}
	n = i ? famfs_file_write(fm->fs, i, (uint64_t)off, buf, size) : -ESTALE;
	famfs_fs_rdunlock(fm->fs);
	if (n < 0)
		rc = (int)n;
out:
	if (rc == -ENOENT)
		rc = -ESTALE;
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_write(req, (size_t)n);
}

/* Writes are flushed to the memory before their reply: flush and fsync have no work. */
static void fm_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, 0);
}

static void fm_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	(void)ino;
	(void)datasync;
	(void)fi;
	fuse_reply_err(req, 0);
}

/* ------------------------------------------------------------------ directories */

static int fm_dirent_cmp(const void *a, const void *b)
{
	const struct fm_dirent *x = a, *y = b;

	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

/* Fill @dh with @ino's entries as of now, sorted by inode number. */
static int fm_dir_load(struct fm_data *fm, struct fm_dir *dh)
{
	struct famfs_inode *d, *c;
	size_t k = 0;
	int rc;

	free(dh->ents);
	dh->ents = NULL;
	dh->n = 0;
	famfs_fs_rdlock(fm->fs);
	rc = famfs_ns_get_dir(famfs_fs_ns(fm->fs), dh->ino, &d);
	if (!rc) {
		dh->parent = d->parent ? d->parent->ino : FAMFS_ROOT_INO;
		dh->ents = malloc((d->nchildren + 1) * sizeof(*dh->ents));
		if (!dh->ents)
			rc = -ENOMEM;
		famfs_ns_foreach_child(d, c)
		{
			if (!dh->ents || k >= d->nchildren)
				break;
			dh->ents[k].ino = c->ino;
			dh->ents[k].is_dir = S_ISDIR(c->mode);
			memcpy(dh->ents[k].name, c->name, sizeof(c->name));
			k++;
		}
	}
	famfs_fs_rdunlock(fm->fs);
	dh->n = k;
	if (!rc)
		qsort(dh->ents, dh->n, sizeof(*dh->ents), fm_dirent_cmp);
	return rc;
}

static void fm_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fm_dir *dh = calloc(1, sizeof(*dh));
	int rc;

	if (!dh) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	dh->ino = ino;
	rc = fm_dir_load(fm_of(req), dh);
	if (rc) {
		free(dh->ents);
		free(dh);
		fuse_reply_err(req, -rc);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)dh;
	fuse_reply_open(req, fi);
}

/*
 * Offsets (cookies): "." is 1, ".." is 2, a child is its inode number + 2 (inode numbers
 * of children are >= 2). Entries are sorted by inode number, so a reader resumes after
 * the last cookie it saw even when entries came and went in between.
 */
static void fm_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct fm_data *fm = fm_of(req);
	struct fm_dir *dh = (struct fm_dir *)(uintptr_t)fi->fh;
	char *buf = malloc(size), *p;
	size_t rem = size, used, lo, hi;
	struct stat st;
	int rc = 0;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (off == 0)
		rc = fm_dir_load(fm, dh); /* rewinddir sees the directory as it is now */
	if (rc) {
		free(buf);
		fuse_reply_err(req, -rc);
		return;
	}
	p = buf;
	memset(&st, 0, sizeof(st));
	if (off < 1) {
		st.st_ino = ino;
		st.st_mode = S_IFDIR;
		used = fuse_add_direntry(req, p, rem, ".", &st, 1);
		if (used > rem)
			goto done;
		p += used;
		rem -= used;
		off = 1;
	}
	if (off < 2) {
		st.st_ino = dh->parent;
		st.st_mode = S_IFDIR;
		used = fuse_add_direntry(req, p, rem, "..", &st, 2);
		if (used > rem)
			goto done;
		p += used;
		rem -= used;
		off = 2;
	}
	/* First entry with ino + 2 > off. */
	lo = 0;
	hi = dh->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (dh->ents[mid].ino + 2 <= (uint64_t)off)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < dh->n; lo++) {
		st.st_ino = dh->ents[lo].ino;
		st.st_mode = dh->ents[lo].is_dir ? S_IFDIR : S_IFREG;
		used = fuse_add_direntry(req, p, rem, dh->ents[lo].name, &st,
					 (off_t)(dh->ents[lo].ino + 2));
		if (used > rem)
			break;
		p += used;
		rem -= used;
	}
done:
	fuse_reply_buf(req, buf, size - rem);
	free(buf);
}

static void fm_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fm_dir *dh = (struct fm_dir *)(uintptr_t)fi->fh;

	(void)ino;
	if (dh) {
		free(dh->ents);
		free(dh);
	}
	fuse_reply_err(req, 0);
}

static void fm_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct fm_data *fm = fm_of(req);
	const struct famfs_bitmap *bm;
	const struct famfs_log_header *lh;
	struct statvfs sv;
	uint64_t slots, used;

	(void)ino;
	memset(&sv, 0, sizeof(sv));
	famfs_fs_rdlock(fm->fs);
	bm = famfs_fs_bitmap(fm->fs);
	lh = famfs_fs_log(fm->fs);
	sv.f_bsize = (unsigned long)bm->unit;
	sv.f_frsize = (unsigned long)bm->unit;
	sv.f_blocks = bm->nbits - bm->reserved;
	sv.f_bfree = famfs_bitmap_free_bytes(bm) / bm->unit;
	sv.f_bavail = sv.f_bfree;
	slots = lh->lh_last_index + 1;
	used = famfs_fs_stats(fm->fs)->entries;
	famfs_fs_rdunlock(fm->fs);
	sv.f_files = slots;
	sv.f_ffree = used < slots ? slots - used : 0;
	sv.f_favail = sv.f_ffree;
	sv.f_namemax = FAMFS_RELPATH_MAX;
	fuse_reply_statfs(req, &sv);
}

static const struct fuse_lowlevel_ops fm_ops = {
    .init = fm_init,
    .lookup = fm_lookup,
    .forget = fm_forget,
    .forget_multi = fm_forget_multi,
    .getattr = fm_getattr,
    .setattr = fm_setattr,
    .mkdir = fm_mkdir,
    .mknod = fm_mknod,
    .unlink = fm_unlink,
    .rmdir = fm_rmdir,
    .rename = fm_rename,
    .symlink = fm_symlink,
    .link = fm_link,
    .create = fm_create,
    .open = fm_open,
    .read = fm_read,
    .write = fm_write,
    .flush = fm_flush,
    .fsync = fm_fsync,
    .release = fm_release,
    .opendir = fm_opendir,
    .readdir = fm_readdir,
    .releasedir = fm_releasedir,
    .statfs = fm_statfs,
};

/* ------------------------------------------------------------------ the log follower */

/* famfs change callback (namespace write-locked): record only. */
static void fm_change(void *arg, uint64_t ino, uint64_t parent, unsigned int what)
{
	struct fm_data *fm = arg;

	pthread_mutex_lock(&fm->lock);
	if (fm->reset) {
		/* everything known is invalidated anyway */
	} else if ((what & FAMFS_CHANGE_RESET) || fm->nchanges >= FM_MAX_CHANGES) {
		fm->reset = true;
	} else {
		if (fm->nchanges == fm->capchanges) {
			size_t cap = fm->capchanges ? 2 * fm->capchanges : 64;
			struct fm_change *c = realloc(fm->changes, cap * sizeof(*c));

			if (!c) {
				fm->reset = true;
				goto out;
			}
			fm->changes = c;
			fm->capchanges = cap;
		}
		fm->changes[fm->nchanges++] = (struct fm_change){ino, parent, what};
	}
out:
	pthread_mutex_unlock(&fm->lock);
}

struct fm_inval {
	uint64_t ino;	 /* inode to invalidate (attributes and cached pages) */
	uint64_t parent; /* with a name: the dentry (parent, name) to drop */
	char name[FAMFS_MAX_PATHLEN];
};

static int fm_inval_cmp(const void *a, const void *b)
{
	const struct fm_inval *x = a, *y = b;

	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	if (x->parent != y->parent)
		return x->parent < y->parent ? -1 : 1;
	return strcmp(x->name, y->name);
}

/*
 * Turn the recorded changes into notifications (under fm->lock: the names the kernel
 * knows come from the node table). A reset invalidates every known inode and name.
 */
static size_t fm_collect(struct fm_data *fm, struct fm_inval **out)
{
	struct fm_inval *v;
	struct fm_node *n;
	size_t cap, k = 0, b;

	pthread_mutex_lock(&fm->lock);
	cap = fm->reset ? 2 * fm->nnodes + 1 : 3 * fm->nchanges + 1;
	v = calloc(cap, sizeof(*v));
	if (!v) {
		pthread_mutex_unlock(&fm->lock);
		*out = NULL;
		return 0;
	}
	if (fm->reset) {
		for (b = 0; b < fm->nbuckets; b++) {
			for (n = fm->nodes[b]; n && k + 2 <= cap; n = n->next) {
				v[k++].ino = n->ino;
				if (n->ino == FAMFS_ROOT_INO)
					continue;
				v[k].parent = n->parent;
				memcpy(v[k].name, n->name, sizeof(n->name));
				k++;
			}
		}
	} else {
		for (size_t c = 0; c < fm->nchanges; c++) {
			const struct fm_change *ch = &fm->changes[c];

			v[k++].ino = ch->ino;
			/* A directory changes only when a name in it comes or goes. */
			if (ch->parent &&
			    (ch->what & (FAMFS_CHANGE_CREATED | FAMFS_CHANGE_REMOVED)))
				v[k++].ino = ch->parent;
			if ((ch->what & FAMFS_CHANGE_REMOVED) && (n = fm_node_find(fm, ch->ino)) &&
			    n->parent == ch->parent) {
				v[k].parent = ch->parent;
				memcpy(v[k].name, n->name, sizeof(n->name));
				k++;
			}
		}
	}
	fm->nchanges = 0;
	fm->reset = false;
	pthread_mutex_unlock(&fm->lock);
	qsort(v, k, sizeof(*v), fm_inval_cmp);
	*out = v;
	return k;
}

static void fm_follow_step(struct fm_data *fm)
{
	struct fm_inval *v;
	size_t n, k;
	int rc;

	rc = famfs_fs_refresh(fm->fs);
	if (rc < 0)
		gw_mount_log(FAMFS_MSG_DEBUG, "refresh: %s", strerror(-rc));
	n = fm_collect(fm, &v);
	for (k = 0; k < n; k++) {
		if (k && !fm_inval_cmp(&v[k], &v[k - 1]))
			continue;
		if (v[k].name[0])
			rc = fuse_lowlevel_notify_inval_entry(fm->se, v[k].parent, v[k].name,
							      strlen(v[k].name));
		else
			rc = fuse_lowlevel_notify_inval_inode(fm->se, v[k].ino, 0, 0);
		/* -ENOENT: the kernel does not hold it; nothing to drop. */
		if (rc && rc != -ENOENT)
			gw_mount_log(FAMFS_MSG_DEBUG, "invalidate inode %llu: %s",
				     (unsigned long long)v[k].ino, strerror(-rc));
		fm->notified++;
	}
	free(v);
}

static void *fm_follower(void *arg)
{
	struct fm_data *fm = arg;
	struct timespec ts;

	pthread_mutex_lock(&fm->lock);
	while (!fm->stop) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += fm->opts->follow_ms / 1000;
		ts.tv_nsec += (long)(fm->opts->follow_ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&fm->cond, &fm->lock, &ts);
		if (fm->stop)
			break;
		pthread_mutex_unlock(&fm->lock);
		fm_follow_step(fm);
		pthread_mutex_lock(&fm->lock);
	}
	pthread_mutex_unlock(&fm->lock);
	return NULL;
}

/* ------------------------------------------------------------------ the session */

/* "-o" options for libfuse and the kernel mount. */
static int fm_fuse_args(const struct fm_opts *o, struct fuse_args *args)
{
	char opt[PATH_MAX + 256];
	int n;

	n = snprintf(opt, sizeof(opt), "fsname=famfs:%s,subtype=famfs,default_permissions%s%s%s%s",
		     o->device, getuid() == 0 ? ",allow_other" : "", o->readonly ? ",ro" : "",
		     o->fuse_opts ? "," : "", o->fuse_opts ? o->fuse_opts : "");
	if (n < 0 || (size_t)n >= sizeof(opt))
		return -ENAMETOOLONG;
	if (fuse_opt_add_arg(args, "famfs-gw") || fuse_opt_add_arg(args, "-o") ||
	    fuse_opt_add_arg(args, opt))
		return -ENOMEM;
	return 0;
}

int fm_serve(struct famfs_fs *fs, const struct fm_opts *opts)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_loop_config *lc = NULL;
	struct fm_data fm;
	int rc;

	memset(&fm, 0, sizeof(fm));
	fm.fs = fs;
	fm.opts = opts;
	pthread_mutex_init(&fm.lock, NULL);
	pthread_cond_init(&fm.cond, NULL);
	fm.nbuckets = 1024;
	fm.nodes = calloc(fm.nbuckets, sizeof(*fm.nodes));
	rc = pthread_key_create(&fm_buf_key, fm_buf_free);
	if (!fm.nodes || rc) {
		rc = -ENOMEM;
		goto out_data;
	}
	rc = fm_fuse_args(opts, &args);
	if (rc)
		goto out_key;
	fm.se = fuse_session_new(&args, &fm_ops, sizeof(fm_ops), &fm);
	if (!fm.se) {
		gw_mount_log(FAMFS_MSG_ERR, "%s: bad FUSE options '%s'", opts->mountpoint,
			     opts->fuse_opts ? opts->fuse_opts : "");
		rc = -EINVAL;
		goto out_args;
	}
	if (fuse_set_signal_handlers(fm.se)) {
		rc = -EIO;
		goto out_session;
	}
	if (fuse_session_mount(fm.se, opts->mountpoint)) {
		gw_mount_log(FAMFS_MSG_ERR,
			     "%s: cannot mount (is /dev/fuse there, and the mount point "
			     "an existing directory?)",
			     opts->mountpoint);
		rc = -EIO;
		goto out_signals;
	}
	/* The root is always known to the kernel; it never gets a lookup. */
	famfs_fs_rdlock(fs);
	rc = fm_node_ref(&fm, famfs_fs_ns(fs)->root, FAMFS_ROOT_INO, "");
	famfs_fs_rdunlock(fs);
	if (rc)
		goto out_unmount;
	famfs_fs_set_change_fn(fs, fm_change, &fm);
	rc = pthread_create(&fm.follower, NULL, fm_follower, &fm);
	if (rc) {
		rc = -rc;
		goto out_change;
	}
	gw_mount_log(FAMFS_MSG_NOTICE, "%s: famfs on %s mounted %s (%s), log followed every %u ms",
		     opts->mountpoint, opts->device, opts->readonly ? "read-only" : "read-write",
		     famfs_fs_role(fs) == FAMFS_ROLE_MASTER ? "master" : "client", opts->follow_ms);
	if (opts->on_ready)
		opts->on_ready(opts->ready_arg);

	lc = fuse_loop_cfg_create();
	if (!lc) {
		rc = -ENOMEM;
		goto out_follower;
	}
	fuse_loop_cfg_set_clone_fd(lc, 0);
	fuse_loop_cfg_set_max_threads(lc, 16);
	rc = fuse_session_loop_mt(fm.se, lc);
	fuse_loop_cfg_destroy(lc);
	gw_mount_log(FAMFS_MSG_NOTICE, "%s: unmounting (%s), %llu kernel notifications sent",
		     opts->mountpoint, rc ? "stopped by a signal" : "unmounted",
		     (unsigned long long)fm.notified);
	rc = 0;

out_follower:
	pthread_mutex_lock(&fm.lock);
	fm.stop = true;
	pthread_cond_broadcast(&fm.cond);
	pthread_mutex_unlock(&fm.lock);
	pthread_join(fm.follower, NULL);
out_change:
	famfs_fs_set_change_fn(fs, NULL, NULL);
out_unmount:
	fuse_session_unmount(fm.se);
out_signals:
	fuse_remove_signal_handlers(fm.se);
out_session:
	fuse_session_destroy(fm.se);
out_args:
	fuse_opt_free_args(&args);
out_key:
	pthread_key_delete(fm_buf_key);
out_data:
	for (size_t b = 0; fm.nodes && b < fm.nbuckets; b++) {
		struct fm_node *n, *next;

		for (n = fm.nodes[b]; n; n = next) {
			next = n->next;
			free(n);
		}
	}
	free(fm.nodes);
	free(fm.changes);
	pthread_cond_destroy(&fm.cond);
	pthread_mutex_destroy(&fm.lock);
	return rc;
}
