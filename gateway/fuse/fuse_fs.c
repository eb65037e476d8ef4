// SPDX-License-Identifier: Apache-2.0
/**
 * @file fuse_fs.c
 * @brief `famfs-gw mount`: a libfuse3 low-level daemon serving famfs from the mapped
 *        device (see fuse_fs.h for what it owns, its invariants and its locking).
 *
 * The shape follows libfuse's passthrough_ll example: static fm_* operations gathered in
 * one const table, each sending exactly one reply. Each is a translation of one
 * famfs_ll_* call (famfs/ll.h): -errno from it is replied as errno, once, at the end.
 */
#define FUSE_USE_VERSION 312

#include <errno.h>
#include <fuse_lowlevel.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "famfs/direct.h"
#include "famfs/io.h"
#include "famfs/ll.h"
#include "famfs/omf_ext.h"
#include "famfs/path.h"
#include "fuse_priv.h"

_Static_assert(sizeof(fuse_ino_t) >= sizeof(uint64_t), "fuse_ino_t must hold a famfs inode");

static pthread_key_t fm_buf_key;

static inline struct fm_data *fm_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static inline uint64_t fm_fh(const struct fuse_file_info *fi)
{
	return fi ? fi->fh : 0;
}

/* ------------------------------------------------------------------ attributes */

static void fm_ns_to_ts(uint64_t ns, struct timespec *ts)
{
	ts->tv_sec = (time_t)(ns / 1000000000ULL);
	ts->tv_nsec = (long)(ns % 1000000000ULL);
}

static uint64_t fm_ts_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000ULL + (uint64_t)ts->tv_nsec;
}

static void fm_stat(const struct famfs_attr *a, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = a->ino;
	st->st_mode = a->mode;
	st->st_nlink = a->nlink;
	st->st_uid = a->uid;
	st->st_gid = a->gid;
	st->st_rdev = (dev_t)a->rdev;
	st->st_size = (off_t)a->size;
	st->st_blksize = 1 << 20;
	st->st_blocks = (blkcnt_t)(a->space / 512);
	fm_ns_to_ts(a->mtime_ns, &st->st_mtim);
	fm_ns_to_ts(a->ctime_ns, &st->st_ctim);
	fm_ns_to_ts(a->atime_ns, &st->st_atim);
}

static void fm_entry(const struct fm_data *fm, const struct famfs_attr *a,
		     struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = a->ino;
	e->generation = 1;
	e->attr_timeout = fm->opts->timeout;
	e->entry_timeout = fm->opts->timeout;
	fm_stat(a, &e->attr);
}

static void fm_reply_attr(fuse_req_t req, int rc, const struct famfs_attr *a)
{
	struct stat st;

	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	fm_stat(a, &st);
	fuse_reply_attr(req, &st, fm_of(req)->opts->timeout);
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
static void fm_set_read_ahead(const struct fm_opts *o)
{
	char devno[64], path[128];
	int rc;
	FILE *f;

	if (!o->read_ahead_kb || !o->devno_of ||
	    o->devno_of(o->mountpoint, devno, sizeof(devno)) != 1)
		return;
	snprintf(path, sizeof(path), "/sys/class/bdi/%s/read_ahead_kb", devno);
	f = fopen(path, "w");
	if (!f) {
		rc = -errno;
	} else {
		rc = fprintf(f, "%u\n", o->read_ahead_kb) < 0 ? -EIO : 0;
		if (fclose(f) && !rc)
			rc = -errno;
	}
	if (rc)
		o->log(FAMFS_MSG_DEBUG, "%s: cannot set read-ahead to %u KiB: %s", path,
		       o->read_ahead_kb, strerror(-rc));
	else
		o->log(FAMFS_MSG_INFO, "%s: read-ahead %u KiB", o->mountpoint, o->read_ahead_kb);
}

static inline void fm_after_init(struct fm_data *fm)
{
	if (__atomic_load_n(&fm->ra_pending, __ATOMIC_RELAXED) &&
	    __atomic_exchange_n(&fm->ra_pending, false, __ATOMIC_ACQ_REL))
		fm_set_read_ahead(fm->opts);
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
	fm->opts->log(FAMFS_MSG_INFO, "%s: FUSE protocol %u.%u, max write %u", fm->opts->mountpoint,
		      conn->proto_major, conn->proto_minor, conn->max_write);
}

/* Reply with the entry @a just found or made as @name in @parent (counts the lookup). */
static void fm_reply_found(fuse_req_t req, int rc, uint64_t parent, const char *name,
			   const struct famfs_attr *a)
{
	struct fuse_entry_param e;

	if (!rc)
		rc = fm_node_ref(fm_of(req), a, parent, name);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	fm_entry(fm_of(req), a, &e);
	fuse_reply_entry(req, &e);
}

static void fm_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fm_data *fm = fm_of(req);
	struct famfs_attr a;

	fm_after_init(fm);
	fm_reply_found(req, famfs_ll_lookup(fm->ll, parent, name, NULL, &a), parent, name, &a);
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
	struct famfs_attr a;

	(void)fi;
	fm_after_init(fm);
	fm_reply_attr(req, famfs_ll_getattr(fm->ll, ino, &a), &a);
}

/* ------------------------------------------------------------------ changes (master) */

static void fm_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	struct famfs_ll_setattr sa = {
	    .mode = attr->st_mode & 07777,
	    .uid = attr->st_uid,
	    .gid = attr->st_gid,
	    .size = (uint64_t)attr->st_size,
	    .mtime_ns = fm_ts_ns(&attr->st_mtim),
	    .atime_ns = fm_ts_ns(&attr->st_atim),
	};
	struct famfs_attr a;

	(void)fi;
	if (to_set & FUSE_SET_ATTR_SIZE)
		sa.valid |= FAMFS_SET_SIZE;
	if (to_set & FUSE_SET_ATTR_MODE)
		sa.valid |= FAMFS_SET_MODE;
	if (to_set & FUSE_SET_ATTR_UID)
		sa.valid |= FAMFS_SET_UID;
	if (to_set & FUSE_SET_ATTR_GID)
		sa.valid |= FAMFS_SET_GID;
	if (to_set & FUSE_SET_ATTR_MTIME)
		sa.valid |= FAMFS_SET_MTIME;
	if (to_set & FUSE_SET_ATTR_MTIME_NOW)
		sa.valid |= FAMFS_SET_MTIME | FAMFS_SET_MTIME_NOW;
	if (to_set & FUSE_SET_ATTR_ATIME)
		sa.valid |= FAMFS_SET_ATIME;
	if (to_set & FUSE_SET_ATTR_ATIME_NOW)
		sa.valid |= FAMFS_SET_ATIME | FAMFS_SET_ATIME_NOW;
	fm_reply_attr(req, famfs_ll_setattr(fm_of(req)->ll, ino, &sa, NULL, &a), &a);
}

/* What a create by @req makes: @mode (type and bits, less the umask), owned by the caller. */
static struct famfs_ll_new fm_new(fuse_req_t req, mode_t mode)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct famfs_ll_new nw = {
	    .mode = (mode & S_IFMT) | (mode & 07777 & ~ctx->umask),
	    .uid = ctx->uid,
	    .gid = ctx->gid,
	};

	return nw;
}

/* mkdir, and mknod of a regular file: one create, then the entry reply. */
static void fm_make(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct famfs_ll_new nw = fm_new(req, mode);
	struct famfs_attr a;
	int rc = famfs_ll_create(fm_of(req)->ll, parent, name, &nw, FAMFS_LL_EXCL, NULL, &a, NULL);

	fm_reply_found(req, rc, parent, name, &a);
}

static void fm_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	fm_make(req, parent, name, S_IFDIR | (mode & 07777));
}

static void fm_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	struct famfs_ll_new nw = fm_new(req, mode);
	struct famfs_attr a;
	int rc;

	nw.rdev = rdev;
	rc = famfs_ll_create(fm_of(req)->ll, parent, name, &nw, FAMFS_LL_EXCL, NULL, &a, NULL);
	fm_reply_found(req, rc, parent, name, &a);
}

static void fm_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fuse_reply_err(req, -famfs_ll_unlink(fm_of(req)->ll, parent, name, FAMFS_LL_FILE, NULL));
}

static void fm_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fuse_reply_err(req, -famfs_ll_unlink(fm_of(req)->ll, parent, name, FAMFS_LL_DIR, NULL));
}

static void fm_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		      const char *newname, unsigned int flags)
{
	int rc;

	if (flags & RENAME_EXCHANGE)
		rc = -EINVAL; /* one log entry cannot swap two names */
	else
		rc = famfs_ll_rename(fm_of(req)->ll, parent, name, newparent, newname,
				     (flags & RENAME_NOREPLACE) ? FAMFS_LL_NOREPLACE : 0, NULL);
	fuse_reply_err(req, -rc);
}

static void fm_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	struct famfs_ll_new nw = fm_new(req, S_IFLNK | 0777);
	struct famfs_attr a;
	int rc;

	nw.mode = S_IFLNK | 0777; /* a symlink's bits are not masked */
	nw.target = link;
	rc = famfs_ll_create(fm_of(req)->ll, parent, name, &nw, FAMFS_LL_EXCL, NULL, &a, NULL);
	fm_reply_found(req, rc, parent, name, &a);
}

static void fm_readlink(fuse_req_t req, fuse_ino_t ino)
{
	char buf[FAMFS_XE_TARGET_MAX + 1];
	ssize_t n = famfs_ll_readlink(fm_of(req)->ll, ino, buf, sizeof(buf));

	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_readlink(req, buf);
}

static void fm_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	struct famfs_attr a;
	int rc = famfs_ll_link(fm_of(req)->ll, ino, newparent, newname, NULL, &a);

	fm_reply_found(req, rc, newparent, newname, &a);
}

/* ------------------------------------------------------------------ open files */

/*
 * Open @ino: truncate it for O_TRUNC, pin it, and compare the map the kernel was told of
 * with the current one (a changed map drops the kernel's cached pages).
 */
static int fm_open_ino(struct fm_data *fm, uint64_t ino, struct fuse_file_info *fi)
{
	static const struct famfs_ll_setattr trunc = {.valid = FAMFS_SET_SIZE, .size = 0};
	struct famfs_attr a;
	struct fm_node *n;
	bool same = false;
	int rc = 0;

	if ((fi->flags & O_ACCMODE) != O_RDONLY && !famfs_ll_writable(fm->ll))
		rc = -EROFS;
	if (!rc && (fi->flags & O_TRUNC))
		rc = famfs_ll_setattr(fm->ll, ino, &trunc, NULL, NULL);
	if (!rc)
		rc = famfs_ll_pin(fm->ll, ino);
	if (rc)
		return rc;
	rc = famfs_ll_getattr(fm->ll, ino, &a);
	if (rc) {
		famfs_ll_unpin(fm->ll, ino);
		return rc;
	}
	pthread_mutex_lock(&fm->lock);
	n = fm_node_find(fm, ino);
	if (n) {
		same = n->map_sig == a.map_sig;
		n->map_sig = a.map_sig;
	}
	pthread_mutex_unlock(&fm->lock);
	if (!same)
		fm->opts->log(FAMFS_MSG_DEBUG, "inode %llu: map changed since lookup",
			      (unsigned long long)ino);
	fi->fh = ino;
	fi->keep_cache = fm->opts->kernel_cache && same;
	return 0;
}

static void fm_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	int rc = fm_open_ino(fm_of(req), ino, fi);

	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_open(req, fi);
}

static void fm_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	struct fm_data *fm = fm_of(req);
	struct famfs_ll_new nw = fm_new(req, S_IFREG | (mode & 07777));
	struct fuse_entry_param e;
	struct famfs_attr a;
	bool created;
	int rc;

	/* O_CREAT without O_EXCL on a name another host made since the kernel looked: open. */
	rc = famfs_ll_create(fm->ll, parent, name, &nw, (fi->flags & O_EXCL) ? FAMFS_LL_EXCL : 0,
			     NULL, &a, &created);
	if (!rc)
		rc = fm_node_ref(fm, &a, parent, name);
	if (!rc) {
		if (created)
			fi->flags &= ~O_TRUNC;
		rc = fm_open_ino(fm, a.ino, fi);
		if (!rc)
			rc = famfs_ll_getattr(fm->ll, a.ino, &a);
		if (rc)
			fm_node_forget(fm, a.ino, 1);
	}
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	fm_entry(fm, &a, &e);
	fuse_reply_create(req, &e, fi);
}

/* The last close: what the file's writers changed is logged now (one entry). */
static void fm_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fm_data *fm = fm_of(req);
	int rc = 0;

	if ((fi->flags & O_ACCMODE) != O_RDONLY && famfs_ll_writable(fm->ll))
		rc = famfs_ll_commit(fm->ll, ino);
	famfs_ll_unpin(fm->ll, ino);
	if (rc)
		fm->opts->log(FAMFS_MSG_ERR,
			      "inode %llu: its changes could not be logged at close: %s "
			      "(they stay pending)",
			      (unsigned long long)ino, strerror(-rc));
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
	void *buf = fm_buf(size);
	ssize_t n;

	(void)fi;
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	n = famfs_ll_read(fm->ll, ino, (uint64_t)off, buf, size,
			  fm->opts->invalidate_reads ? FAMFS_IO_INVALIDATE : 0, NULL);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
}

/*
 * FAMFS_DIRECT_IOC_MAP: the file's map, for processes of this host that map the device
 * themselves (famfs/direct.h, libfamfs_direct.so). Any other command is not ours.
 */
static void fm_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg,
		     struct fuse_file_info *fi, unsigned flags, const void *in_buf, size_t in_bufsz,
		     size_t out_bufsz)
{
	struct famfs_direct_map m;
	int rc;

	(void)arg;
	(void)fi;
	(void)in_buf;
	(void)in_bufsz;
	if (cmd != FAMFS_DIRECT_IOC_MAP || (flags & FUSE_IOCTL_COMPAT)) {
		fuse_reply_err(req, ENOTTY);
		return;
	}
	if (out_bufsz < sizeof(m)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	rc = famfs_ll_direct_map(fm_of(req)->ll, ino, &m);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_ioctl(req, 0, &m, sizeof(m));
}

static void fm_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	ssize_t n = famfs_ll_write(fm_of(req)->ll, ino, (uint64_t)off, buf, size);

	(void)fi;
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_write(req, (size_t)n);
}

static void fm_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
			 struct fuse_file_info *fi)
{
	unsigned int m = 0;
	int rc = 0;

	(void)fi;
	if (mode & FALLOC_FL_KEEP_SIZE)
		m |= FAMFS_FALLOC_KEEP_SIZE;
	if (mode & FALLOC_FL_PUNCH_HOLE)
		m |= FAMFS_FALLOC_PUNCH;
	if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE))
		rc = -EOPNOTSUPP; /* zero-range, collapse, insert: not in the format */
	if (!rc)
		rc = famfs_ll_fallocate(fm_of(req)->ll, ino, m, (uint64_t)offset, (uint64_t)length);
	fuse_reply_err(req, -rc);
}

/* Writes are flushed to the memory before their reply: a close has no work here
 * (release logs the file). */
static void fm_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, 0);
}

/* fsync: the data is in the memory already; the file's size, map and attributes are
 * logged now. */
static void fm_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	struct fm_data *fm = fm_of(req);

	(void)datasync;
	(void)fi;
	fuse_reply_err(req, famfs_ll_writable(fm->ll) ? -famfs_ll_commit(fm->ll, ino) : 0);
}

/* ------------------------------------------------------------------ directories */

static void fm_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct famfs_dirsnap *snap = calloc(1, sizeof(*snap));
	int rc;

	if (!snap) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	rc = famfs_ll_readdir(fm_of(req)->ll, ino, 0, NULL, snap);
	if (rc) {
		famfs_dirsnap_free(snap);
		free(snap);
		fuse_reply_err(req, -rc);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)snap;
	fuse_reply_open(req, fi);
}

/* Add one entry at @*p; false when it does not fit. */
static bool fm_add(fuse_req_t req, char **p, size_t *rem, const char *name, uint64_t ino,
		   mode_t type, uint64_t cookie)
{
	struct stat st;
	size_t used;

	memset(&st, 0, sizeof(st));
	st.st_ino = ino;
	st.st_mode = type;
	used = fuse_add_direntry(req, *p, *rem, name, &st, (off_t)cookie);
	if (used > *rem)
		return false;
	*p += used;
	*rem -= used;
	return true;
}

/*
 * Offsets (cookies): "." is 1, ".." is 2, a child is FAMFS_DIR_COOKIE(its inode number).
 * The snapshot is sorted by inode number, so a reader resumes after the last cookie it saw
 * even when entries came and went in between.
 */
static void fm_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct famfs_dirsnap *snap = (struct famfs_dirsnap *)(uintptr_t)fi->fh;
	char *buf = malloc(size), *p;
	size_t rem = size, k;
	int rc = 0;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (off == 0) /* rewinddir sees the directory as it is now */
		rc = famfs_ll_readdir(fm_of(req)->ll, ino, 0, NULL, snap);
	if (rc) {
		free(buf);
		fuse_reply_err(req, -rc);
		return;
	}
	p = buf;
	if (off < 1 && !fm_add(req, &p, &rem, ".", ino, S_IFDIR, 1))
		goto done;
	if (off < 2 && !fm_add(req, &p, &rem, "..", snap->parent, S_IFDIR, 2))
		goto done;
	for (k = famfs_dirsnap_seek(snap, off < 2 ? 2 : (uint64_t)off); k < snap->n; k++)
		if (!fm_add(req, &p, &rem, snap->ents[k].name, snap->ents[k].ino,
			    snap->ents[k].type, snap->ents[k].cookie))
			break;
done:
	fuse_reply_buf(req, buf, size - rem);
	free(buf);
}

static void fm_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct famfs_dirsnap *snap = (struct famfs_dirsnap *)(uintptr_t)fm_fh(fi);

	(void)ino;
	if (snap) {
		famfs_dirsnap_free(snap);
		free(snap);
	}
	fuse_reply_err(req, 0);
}

static void fm_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct famfs_ll_statfs s;
	struct statvfs sv;

	(void)ino;
	famfs_ll_statfs(fm_of(req)->ll, &s);
	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = (unsigned long)s.unit;
	sv.f_frsize = (unsigned long)s.unit;
	sv.f_blocks = s.blocks;
	sv.f_bfree = s.bfree;
	sv.f_bavail = s.bfree;
	sv.f_files = s.files;
	sv.f_ffree = s.ffree;
	sv.f_favail = s.ffree;
	sv.f_namemax = s.name_max;
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
    .readlink = fm_readlink,
    .link = fm_link,
    .create = fm_create,
    .open = fm_open,
    .read = fm_read,
    .write = fm_write,
    .flush = fm_flush,
    .fsync = fm_fsync,
    .fallocate = fm_fallocate,
    .ioctl = fm_ioctl,
    .release = fm_release,
    .opendir = fm_opendir,
    .readdir = fm_readdir,
    .releasedir = fm_releasedir,
    .statfs = fm_statfs,
};

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
	struct famfs_attr root;
	struct fm_data fm;
	int rc;

	memset(&fm, 0, sizeof(fm));
	fm.opts = opts;
	pthread_mutex_init(&fm.lock, NULL);
	fm.nbuckets = 1024;
	fm.nodes = calloc(fm.nbuckets, sizeof(*fm.nodes));
	rc = pthread_key_create(&fm_buf_key, fm_buf_free);
	if (!fm.nodes || rc) {
		rc = -ENOMEM;
		goto out_data;
	}
	rc = famfs_ll_new(fs, opts->readonly, &fm.ll);
	if (rc)
		goto out_key;
	/* A local file system: sizes, maps and attributes are logged at release, fsync or
	 * within commit_ms, one entry per file (famfs/ll.h). */
	famfs_ll_set_commit(fm.ll, opts->commit_ms, true);
	rc = fm_fuse_args(opts, &args);
	if (rc)
		goto out_ll;
	fm.se = fuse_session_new(&args, &fm_ops, sizeof(fm_ops), &fm);
	if (!fm.se) {
		opts->log(FAMFS_MSG_ERR, "%s: bad FUSE options '%s'", opts->mountpoint,
			  opts->fuse_opts ? opts->fuse_opts : "");
		rc = -EINVAL;
		goto out_args;
	}
	if (fuse_set_signal_handlers(fm.se)) {
		rc = -EIO;
		goto out_session;
	}
	if (fuse_session_mount(fm.se, opts->mountpoint)) {
		opts->log(FAMFS_MSG_ERR,
			  "%s: cannot mount (is /dev/fuse there, and the mount point "
			  "an existing directory?)",
			  opts->mountpoint);
		rc = -EIO;
		goto out_signals;
	}
	/* The root is always known to the kernel; it never gets a lookup. */
	rc = famfs_ll_getattr(fm.ll, FAMFS_ROOT_INO, &root);
	if (!rc)
		rc = fm_node_ref(&fm, &root, FAMFS_ROOT_INO, "");
	if (!rc)
		rc = famfs_ll_follow(fm.ll, opts->follow_ms, fm_changed, &fm);
	if (rc)
		goto out_unmount;
	opts->log(FAMFS_MSG_NOTICE, "%s: famfs on %s mounted %s (%s), log followed every %u ms",
		  opts->mountpoint, opts->device, opts->readonly ? "read-only" : "read-write",
		  famfs_fs_role(fs) == FAMFS_ROLE_MASTER ? "master" : "client", opts->follow_ms);
	if (opts->on_ready)
		opts->on_ready(opts->ready_arg);

	lc = fuse_loop_cfg_create();
	if (!lc) {
		rc = -ENOMEM;
		goto out_follower;
	}
	/* The 3.12 loop API (FUSE_USE_VERSION 312): with the older one this opaque config
	 * was read as the 3.2 struct, every request started and ended a worker thread with
	 * its own cloned /dev/fuse descriptor. Workers now stay. */
	fuse_loop_cfg_set_clone_fd(lc, 0);
	fuse_loop_cfg_set_max_threads(lc, 16);
	fuse_loop_cfg_set_idle_threads(lc, 16);
	rc = fuse_session_loop_mt(fm.se, lc);
	fuse_loop_cfg_destroy(lc);
	opts->log(FAMFS_MSG_NOTICE, "%s: unmounting (%s), %llu kernel notifications sent",
		  opts->mountpoint, rc ? "stopped by a signal" : "unmounted",
		  (unsigned long long)fm.notified);
	rc = 0;

out_follower:
	famfs_ll_follow_stop(fm.ll);
out_unmount:
	fuse_session_unmount(fm.se);
out_signals:
	fuse_remove_signal_handlers(fm.se);
out_session:
	fuse_session_destroy(fm.se);
out_args:
	fuse_opt_free_args(&args);
out_ll:
	famfs_ll_free(fm.ll);
out_key:
	pthread_key_delete(fm_buf_key);
out_data:
	fm_nodes_free(&fm);
	pthread_mutex_destroy(&fm.lock);
	return rc;
}
