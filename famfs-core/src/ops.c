/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file ops.c
 * @brief Namespace changes by the master: mkdir, creat, remove, rename, resize, setattr.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "famfs/cache.h"
#include "famfs/io.h"
#include "famfs/path.h"
#include "fs_priv.h"

static void xe_init(struct famfs_log_entry *le, uint32_t type, uint64_t ino)
{
	struct famfs_xe_hdr *h = (void *)le->le_payload;

	memset(le, 0, sizeof(*le));
	le->le_type = type;
	h->xh_version = FAMFS_XE_VERSION;
	h->xh_ino = ino;
	h->xh_time_ns = fs_now_ns();
}

/* A name longer than a version 1 field holds: the entry is written as version 3. */
static bool long_name(const char *name)
{
	return strlen(name) >= FAMFS_MAX_PATHLEN;
}

int famfs_fs_resolve(struct famfs_fs *fs, const char *relpath, struct famfs_inode **out)
{
	return famfs_ns_resolve(&fs->ns, relpath, out);
}

int famfs_fs_child_relpath(struct famfs_fs *fs, uint64_t dir_ino, const char *name, char *buf,
			   size_t len)
{
	struct famfs_inode *dir;
	size_t plen, nlen = strlen(name);
	int rc;

	if (nlen == 0 || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return -EINVAL;
	pthread_rwlock_rdlock(&fs->ns_lock);
	rc = famfs_ns_get_dir(&fs->ns, dir_ino, &dir);
	if (rc == 0)
		rc = famfs_ns_path(dir, buf, len);
	pthread_rwlock_unlock(&fs->ns_lock);
	if (rc)
		return rc;
	plen = strlen(buf);
	if (nlen > FAMFS_NAME_MAX || plen + (plen ? 1 : 0) + nlen >= len ||
	    plen + (plen ? 1 : 0) + nlen > FAMFS_PATH_MAX)
		return -ENAMETOOLONG;
	if (plen)
		buf[plen++] = '/';
	memcpy(buf + plen, name, nlen + 1);
	return 0;
}

struct famfs_inode *famfs_fs_get(struct famfs_fs *fs, uint64_t ino)
{
	struct famfs_inode *i;

	pthread_rwlock_rdlock(&fs->ns_lock);
	i = famfs_ns_get(&fs->ns, ino);
	pthread_rwlock_unlock(&fs->ns_lock);
	return i;
}

/* Common checks before logging @relpath: path rules, parent, not existing. */
static int prepare_create(struct famfs_fs *fs, const char *relpath)
{
	char parent_path[FAMFS_PATH_MAX + 1], why[200];
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

/* Fill an XE_CREATE for @relpath (its parent exists). */
static void xe_create(struct famfs_fs *fs, struct famfs_log_entry *le, const char *relpath,
		      mode_t mode, uid_t uid, gid_t gid)
{
	char parent_path[FAMFS_PATH_MAX + 1];
	struct famfs_xe_create *c = (void *)le->le_payload;
	struct famfs_inode *parent;
	const char *name = famfs_relpath_split(relpath, parent_path);

	famfs_ns_resolve(&fs->ns, parent_path, &parent);
	xe_init(le, FAMFS_XE_CREATE, 0);
	c->xc_parent = parent->ino;
	c->xc_mode = mode;
	c->xc_uid = uid;
	c->xc_gid = gid;
	if (long_name(name))
		c->xc_hdr.xh_version = FAMFS_XE_VERSION_LONG;
	memcpy(((struct famfs_xe_create3 *)c)->xc_name, name, strlen(name) + 1);
}

static int begin_create(struct famfs_fs *fs, const char *relpath);

int famfs_fs_mknod(struct famfs_fs *fs, const char *relpath, mode_t mode, uid_t uid, gid_t gid,
		   uint64_t rdev, const char *target, struct famfs_inode **out)
{
	char parent_path[FAMFS_PATH_MAX + 1];
	struct famfs_log_entry le;
	struct famfs_xe_mknod *k = (void *)le.le_payload;
	struct famfs_inode *parent;
	const char *name;
	size_t tlen = target ? strlen(target) : 0;
	mode_t t = mode & S_IFMT;
	int rc;

	if (t != S_IFLNK && t != S_IFIFO && t != S_IFSOCK && t != S_IFCHR && t != S_IFBLK)
		return -EINVAL;
	if (t == S_IFLNK && (tlen == 0 || tlen > FAMFS_XE_TARGET_MAX))
		return tlen ? -ENAMETOOLONG : -ENOENT;
	rc = begin_create(fs, relpath);
	if (rc)
		return rc;
	name = famfs_relpath_split(relpath, parent_path);
	if (t == S_IFLNK && long_name(name) && tlen > FAMFS_XE_TARGET3_MAX) {
		famfs_err("symlink '%.80s': a name over 79 bytes leaves room for a target of %d "
			  "bytes, not %zu",
			  name, FAMFS_XE_TARGET3_MAX, tlen);
		famfs_fs_unlock(fs);
		return -ENAMETOOLONG;
	}
	famfs_ns_resolve(&fs->ns, parent_path, &parent);
	xe_init(&le, FAMFS_XE_MKNOD, 0);
	k->xk_parent = parent->ino;
	k->xk_mode = t | (mode & 07777);
	k->xk_uid = uid;
	k->xk_gid = gid;
	k->xk_rdev = (t == S_IFCHR || t == S_IFBLK) ? rdev : 0;
	if (long_name(name)) {
		struct famfs_xe_mknod3 *k3 = (void *)le.le_payload;

		k->xk_hdr.xh_version = FAMFS_XE_VERSION_LONG;
		memcpy(k3->xk_name, name, strlen(name) + 1);
		if (t == S_IFLNK)
			memcpy(k3->xk_target, target, tlen + 1);
	} else {
		memcpy(k->xk_name, name, strlen(name) + 1);
		if (t == S_IFLNK)
			memcpy(k->xk_target, target, tlen + 1);
	}
	if (t == S_IFLNK)
		k->xk_target_len = (uint32_t)tlen;
	rc = famfs_fs_append(fs, &le);
	if (rc == 0 && out)
		rc = famfs_ns_resolve(&fs->ns, relpath, out);
	famfs_fs_unlock(fs);
	return rc;
}

/* Would upstream find the parent of @relpath where we do? Then upstream entries work. */
static bool parent_upstream(struct famfs_fs *fs, const char *relpath)
{
	char parent_path[FAMFS_PATH_MAX + 1];
	struct famfs_inode *parent;

	famfs_relpath_split(relpath, parent_path);
	return famfs_ns_resolve(&fs->ns, parent_path, &parent) == 0 && fs_chain_upstream(parent);
}

/* Take the log lock and check that @relpath can be created; unlocked again on error. */
static int begin_create(struct famfs_fs *fs, const char *relpath)
{
	int rc = famfs_fs_lock(fs);

	if (rc)
		return rc;
	rc = prepare_create(fs, relpath);
	if (rc)
		famfs_fs_unlock(fs);
	return rc;
}

int famfs_fs_link(struct famfs_fs *fs, const char *relpath, uint64_t target,
		  struct famfs_inode **out)
{
	char parent_path[FAMFS_PATH_MAX + 1];
	struct famfs_log_entry le;
	struct famfs_xe_link *l = (void *)le.le_payload;
	struct famfs_inode *parent, *t;
	const char *name;
	int rc;

	rc = begin_create(fs, relpath);
	if (rc)
		return rc;
	t = famfs_ns_get(&fs->ns, target);
	if (!t || t->link_of) {
		rc = -ENOENT;
	} else if (S_ISDIR(t->mode)) {
		famfs_err("link '%s': hard links to directories are not allowed", relpath);
		rc = -EPERM;
	} else if (t->nlinks >= FAMFS_LINK_MAX - 1) {
		rc = -EMLINK;
	}
	if (rc)
		goto out_unlock;
	name = famfs_relpath_split(relpath, parent_path);
	famfs_ns_resolve(&fs->ns, parent_path, &parent);
	xe_init(&le, FAMFS_XE_LINK, t->ino);
	l->xl_parent = parent->ino;
	l->xl_target = t->ino;
	if (long_name(name))
		l->xl_hdr.xh_version = FAMFS_XE_VERSION_LONG;
	memcpy(((struct famfs_xe_link3 *)l)->xl_name, name, strlen(name) + 1);
	rc = famfs_fs_append(fs, &le);
	if (rc == 0 && out)
		rc = famfs_ns_resolve(&fs->ns, relpath, out);
out_unlock:
	famfs_fs_unlock(fs);
	return rc;
}

int famfs_fs_mkdir(struct famfs_fs *fs, const char *relpath, mode_t mode, uid_t uid, gid_t gid,
		   struct famfs_inode **out)
{
	struct famfs_log_entry le;
	int rc;

	rc = begin_create(fs, relpath);
	if (rc)
		return rc;
	if (strlen(relpath) <= FAMFS_RELPATH_MAX && parent_upstream(fs, relpath) &&
	    !fs_upath_taken(fs, relpath)) {
		memset(&le, 0, sizeof(le));
		le.le_type = FAMFS_LOG_MKDIR;
		le.le_mkdir.md_uid = uid;
		le.le_mkdir.md_gid = gid;
		le.le_mkdir.md_mode = mode & 07777;
		memcpy(le.le_mkdir.md_relpath, relpath, strlen(relpath) + 1);
	} else {
		/* Under a renamed directory: upstream cannot place it, so it must not see it. */
		xe_create(fs, &le, relpath, S_IFDIR | (mode & 07777), uid, gid);
	}
	rc = famfs_fs_append(fs, &le);
	if (rc == 0 && out)
		rc = famfs_ns_resolve(&fs->ns, relpath, out);
	famfs_fs_unlock(fs);
	return rc;
}

int famfs_fs_mkdir_p(struct famfs_fs *fs, const char *relpath, mode_t mode, uid_t uid, gid_t gid,
		     struct famfs_inode **out)
{
	char prefix[FAMFS_PATH_MAX + 1], why[200];
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

/*
 * A memory error hit free space at device offset @off while @what: this process stops
 * handing out the allocation unit there (until its view is rebuilt). The caller holds
 * ns_lock for writing.
 */
static void bad_unit_locked(struct famfs_fs *fs, uint64_t off, const char *what)
{
	uint64_t unit = fs->bm.unit;

	famfs_err("%s: memory error (SIGBUS) at device offset 0x%llx while %s; the %llu-byte "
		  "unit there is not handed out again",
		  fs->dev->path, (unsigned long long)off, what, (unsigned long long)unit);
	famfs_bitmap_mark(&fs->bm, off / unit * unit, unit);
}

/*
 * Zero reused units before a new owner sees them: no file reads another's old bytes.
 * The caller holds ns_lock for writing. 0, or -EIO when a unit is bad memory (kept from
 * use; with @keep_going the other units are still zeroed).
 */
static int scrub_range(struct famfs_fs *fs, uint64_t off, uint64_t len, bool keep_going)
{
	uint64_t unit = fs->dirty_bm.unit;
	void *fault;
	int rc = 0;

	for (uint64_t b = off / unit; b < (off + len) / unit && b < fs->dirty_bm.nbits; b++) {
		if (!((fs->dirty_bm.words[b / 64] >> (b % 64)) & 1))
			continue;
		famfs_bitmap_clear(&fs->dirty_bm, b * unit, unit);
		if (fs_dev_fill(fs->dev->base + b * unit, NULL, unit, &fault)) {
			bad_unit_locked(fs, (uint64_t)((uint8_t *)fault - fs->dev->base),
					"zeroing reused space");
			rc = -EIO;
			if (!keep_going)
				break;
		}
	}
	return rc;
}

/*
 * Zero the reused units of @m, a map just allocated (the caller holds the appender lock,
 * not ns_lock). Each unit's dirty bit is taken under ns_lock, the zeroing done outside it:
 * the units belong to no file yet, so nobody reads them, and readers of every other file
 * (NFS READs, FUSE reads) go on meanwhile. 0, or -EIO on bad memory (the unit is kept
 * from use).
 */
static int scrub(struct famfs_fs *fs, const struct famfs_omf_fmap *m)
{
	const struct famfs_omf_extent *e =
	    m->fmap_ext_type == FAMFS_EXT_SIMPLE ? m->se : m->ie[0].ie_strips;
	uint64_t n = m->fmap_ext_type == FAMFS_EXT_SIMPLE ? m->fmap_count : m->ie[0].ie_nstrips;
	uint64_t unit = fs->dirty_bm.unit;
	void *fault;

	for (uint64_t k = 0; k < n && fs->dirty_bm.nset; k++) {
		uint64_t end = (e[k].ext_offset + e[k].ext_len) / unit;

		for (uint64_t b = e[k].ext_offset / unit; b < end && b < fs->dirty_bm.nbits; b++) {
			bool dirty;

			pthread_rwlock_wrlock(&fs->ns_lock);
			dirty = (fs->dirty_bm.words[b / 64] >> (b % 64)) & 1;
			if (dirty)
				famfs_bitmap_clear(&fs->dirty_bm, b * unit, unit);
			pthread_rwlock_unlock(&fs->ns_lock);
			if (dirty && fs_dev_fill(fs->dev->base + b * unit, NULL, unit, &fault)) {
				pthread_rwlock_wrlock(&fs->ns_lock);
				bad_unit_locked(fs, (uint64_t)((uint8_t *)fault - fs->dev->base),
						"zeroing reused space");
				pthread_rwlock_unlock(&fs->ns_lock);
				return -EIO;
			}
		}
	}
	return 0;
}

int fs_scrub_all(struct famfs_fs *fs)
{
	if (!fs->dirty_bm.nset)
		return 0;
	return scrub_range(fs, 0, fs->dirty_bm.nbits * fs->dirty_bm.unit, true);
}

/* What allocate() hands out. */
enum alloc_kind {
	ALLOC_LARGE,  /* 2 MiB-aligned, whole 2 MiB blocks (or interleaved) */
	ALLOC_PACKED, /* 4 KiB-granular inside one 2 MiB block (a file under 2 MiB) */
	ALLOC_AT,     /* [at, at + size): a packed extent extended in place */
};

/* Hand out space: pending space that every host is done with is released first. */
static int allocate(struct famfs_fs *fs, uint64_t size, const struct famfs_alloc_params *ap,
		    struct famfs_omf_fmap *fmap, const char *what, enum alloc_kind kind,
		    uint64_t at, bool keep)
{
	struct famfs_resv_extent *foreign;
	size_t nforeign;
	int rc;

	pthread_rwlock_wrlock(&fs->ns_lock);
	if (fs->npending && famfs_fs_no_upstream(fs)) {
		char who[160] = "";
		uint64_t min_safe = fs_hosts_min_safe(fs, who, sizeof(who));
		uint64_t got = fs_release_pending(fs, min_safe);

		if (got)
			famfs_info("%llu freed bytes are reusable (every host is past them)",
				   (unsigned long long)got);
	}
	nforeign = fs_resv_mark_foreign(fs, &foreign); /* what other processes hold */
	if (kind == ALLOC_AT) {
		rc = famfs_alloc_extend(&fs->bm, at, size);
		if (rc == 0) {
			memset(fmap, 0, sizeof(*fmap));
			fmap->fmap_ext_type = FAMFS_EXT_SIMPLE;
			fmap->fmap_count = 1;
			fmap->se[0].ext_offset = at;
			fmap->se[0].ext_len = (size + fs->bm.unit - 1) / fs->bm.unit * fs->bm.unit;
		}
	} else if (kind == ALLOC_PACKED) {
		rc = famfs_alloc_packed(&fs->bm, size, fmap);
	} else if (famfs_alloc_params_interleaved(ap)) {
		rc = famfs_alloc_interleaved(&fs->bm, size, ap, &fs->alloc_cursor, fmap);
	} else {
		rc = famfs_alloc_contig(&fs->bm, size, &fs->alloc_cursor, fmap);
	}
	fs_resv_unmark(fs, foreign, nforeign);
	/* The bits go back so that replaying our own entry claims them without collision;
	 * space for a deferred commit stays marked (it is listed in the reservation area). */
	if (rc == 0 && !keep) {
		famfs_bitmap_clear_fmap(&fs->bm, fmap);
		fs->inflight = *fmap; /* a compaction inside the append must not take it */
		fs->has_inflight = true;
	}
	pthread_rwlock_unlock(&fs->ns_lock);
	if (rc == 0)
		rc = scrub(fs, fmap);
	if (rc == -EIO)
		fs->has_inflight = false;
	if (rc == -ENOSPC && kind != ALLOC_AT)
		famfs_err("'%s': no free space for %llu bytes on %s (%llu bytes free, %llu freed "
			  "but not yet reusable)",
			  what, (unsigned long long)size, fs->dev->path,
			  (unsigned long long)famfs_bitmap_free_bytes(&fs->bm),
			  (unsigned long long)fs_pending_bytes(fs));
	return rc;
}

int famfs_fs_creat(struct famfs_fs *fs, const char *relpath, uint64_t size, mode_t mode, uid_t uid,
		   gid_t gid, const struct famfs_alloc_params *ap, struct famfs_inode **out)
{
	if (size == 0) {
		famfs_err("'%s': size must be greater than 0", relpath);
		return -EINVAL;
	}
	return famfs_fs_create(fs, relpath, size, mode, uid, gid, ap, out);
}

/* @le: a create with its map in one extension entry (FAMFS_XC_MAP); simple maps only. */
static void xc_map_entry(struct famfs_fs *fs, struct famfs_log_entry *le, const char *relpath,
			 mode_t mode, uid_t uid, gid_t gid, uint64_t size,
			 const struct famfs_omf_fmap *fmap)
{
	struct famfs_xe_hdr *h = (void *)le->le_payload;
	struct famfs_xc_map *xm;
	uint32_t max;

	xe_create(fs, le, relpath, mode & 07777, uid, gid);
	h->xh_flags |= FAMFS_XC_MAP;
	if (h->xh_version < FAMFS_XE_VERSION_PACKED)
		h->xh_version = FAMFS_XE_VERSION_PACKED;
	xm = (struct famfs_xc_map *)fs_xc_map(le, &max);
	xm->xm_size = size;
	xm->xm_count = fmap->fmap_count;
	for (uint32_t k = 0; k < fmap->fmap_count && k < max; k++) {
		xm->xm_ext[k].off = fmap->se[k].ext_offset;
		xm->xm_ext[k].len = fmap->se[k].ext_len;
	}
}

/* @le: upstream's FILE entry. */
static void file_entry(struct famfs_log_entry *le, const char *relpath, mode_t mode, uid_t uid,
		       gid_t gid, uint64_t size, const struct famfs_omf_fmap *fmap)
{
	memset(le, 0, sizeof(*le));
	le->le_type = FAMFS_LOG_FILE;
	le->le_file.fm_size = size;
	le->le_file.fm_flags = FAMFS_FM_ALL_HOSTS_RW;
	le->le_file.fm_uid = uid;
	le->le_file.fm_gid = gid;
	le->le_file.fm_mode = mode & 07777;
	memcpy(le->le_file.fm_relpath, relpath, strlen(relpath) + 1);
	le->le_file.fm_fmap = *fmap;
}

/* May a new file at @relpath be logged in upstream's form (path rules only)? */
static bool upstream_path(struct famfs_fs *fs, const char *relpath)
{
	return strlen(relpath) <= FAMFS_RELPATH_MAX && parent_upstream(fs, relpath) &&
	       !fs_upath_taken(fs, relpath);
}

bool fs_upstream_mappable(const struct famfs_fs *fs, const struct famfs_omf_fmap *m)
{
	if (fs_fmap_packed(fs, m))
		return false; /* packed pages: upstream kernels map 2 MiB-aligned extents */
	if (m->fmap_ext_type == FAMFS_EXT_SIMPLE)
		return m->fmap_count >= 1 && m->fmap_count <= 2;
	return m->fmap_count == 1;
}

int famfs_fs_create(struct famfs_fs *fs, const char *relpath, uint64_t size, mode_t mode, uid_t uid,
		    gid_t gid, const struct famfs_alloc_params *ap, struct famfs_inode **out)
{
	struct famfs_log_entry le;
	struct famfs_omf_fmap fmap;
	int rc;

	rc = begin_create(fs, relpath);
	if (rc)
		return rc;
	if (size == 0 || !upstream_path(fs, relpath) || (ap && ap->pack && size < fs->bm.align)) {
		struct famfs_inode *ino;

		/* An empty file, one under a renamed directory, a path upstream hosts still
		 * hold as another object, or a small file to pack: extension entries. */
		if (size && !famfs_alloc_params_interleaved(ap)) {
			/* One entry: the create with its map (FAMFS_XC_MAP). */
			rc = allocate(fs, size, NULL, &fmap, relpath,
				      size < fs->bm.align ? ALLOC_PACKED : ALLOC_LARGE, 0, false);
			if (rc)
				goto out_unlock;
			xc_map_entry(fs, &le, relpath, mode, uid, gid, size, &fmap);
			rc = famfs_fs_append(fs, &le);
			goto out_resolve;
		}
		xe_create(fs, &le, relpath, mode & 07777, uid, gid);
		rc = famfs_fs_append(fs, &le);
		if (rc || size == 0)
			goto out_resolve;
		rc = famfs_ns_resolve(&fs->ns, relpath, &ino);
		if (rc == 0)
			rc = famfs_fs_resize(fs, ino, size);
		goto out_resolve;
	}
	rc = allocate(fs, size, ap, &fmap, relpath, ALLOC_LARGE, 0, false);
	if (rc)
		goto out_unlock;
	file_entry(&le, relpath, mode, uid, gid, size, &fmap);
	rc = famfs_fs_append(fs, &le);
out_resolve:
	if (rc == 0 && out)
		rc = famfs_ns_resolve(&fs->ns, relpath, out);
out_unlock:
	famfs_fs_unlock(fs);
	return rc;
}

/* ------------------------------------------------------------------ filled, then created */

int famfs_fs_prealloc(struct famfs_fs *fs, const char *relpath, uint64_t size,
		      const struct famfs_alloc_params *ap, struct famfs_omf_fmap *out)
{
	bool packed = ap && ap->pack && size < fs->bm.align;
	int rc;

	if (size == 0)
		return -EINVAL;
	rc = begin_create(fs, relpath);
	if (rc)
		return rc;
	if (fs->npre == FS_PRE_MAX || !fs_resv_can(fs))
		rc = -EBUSY;
	else if (famfs_alloc_params_interleaved(ap) && !upstream_path(fs, relpath))
		rc = -EOPNOTSUPP; /* interleaved maps go in upstream's form only */
	else
		rc = allocate(fs, size, packed ? NULL : ap, out, relpath,
			      packed ? ALLOC_PACKED : ALLOC_LARGE, 0, true);
	if (rc == 0) {
		pthread_rwlock_wrlock(&fs->ns_lock);
		fs->pre[fs->npre++] = *out;
		rc = fs_pre_publish(fs);
		pthread_rwlock_unlock(&fs->ns_lock);
		if (rc)
			famfs_fs_prealloc_free(fs, out);
	}
	famfs_fs_unlock(fs);
	return rc;
}

/* Forget preallocation @fmap; its bits stay marked when @keep_bits. ns_lock held. */
static bool pre_forget(struct famfs_fs *fs, const struct famfs_omf_fmap *fmap, bool keep_bits)
{
	for (size_t k = 0; k < fs->npre; k++) {
		if (memcmp(&fs->pre[k], fmap, sizeof(*fmap)))
			continue;
		if (!keep_bits)
			famfs_bitmap_clear_fmap(&fs->bm, fmap);
		fs->pre[k] = fs->pre[--fs->npre];
		(void)fs_pre_publish(fs);
		return true;
	}
	return false;
}

void famfs_fs_prealloc_free(struct famfs_fs *fs, const struct famfs_omf_fmap *fmap)
{
	if (famfs_fs_lock(fs))
		return; /* the area goes with the process; the log never held it */
	pthread_rwlock_wrlock(&fs->ns_lock);
	pre_forget(fs, fmap, false);
	pthread_rwlock_unlock(&fs->ns_lock);
	famfs_fs_unlock(fs);
}

int famfs_fs_create_prealloc(struct famfs_fs *fs, const char *relpath, uint64_t size, mode_t mode,
			     uid_t uid, gid_t gid, const struct famfs_omf_fmap *fmap,
			     struct famfs_inode **out)
{
	struct famfs_omf_fmap m = *fmap;
	struct famfs_log_entry le;
	bool known;
	int rc;

	rc = begin_create(fs, relpath);
	if (rc) {
		famfs_fs_prealloc_free(fs, &m);
		return rc;
	}
	if (upstream_path(fs, relpath) && fs_upstream_mappable(fs, &m))
		file_entry(&le, relpath, mode, uid, gid, size, &m);
	else if (m.fmap_ext_type == FAMFS_EXT_SIMPLE)
		xc_map_entry(fs, &le, relpath, mode, uid, gid, size, &m);
	else
		rc = -EOPNOTSUPP; /* interleaved, and the path left upstream's reach meanwhile */
	pthread_rwlock_wrlock(&fs->ns_lock);
	/* The bits go back so that replaying our own entry claims them (as allocate()). */
	known = pre_forget(fs, &m, false);
	if (known && rc == 0) {
		fs->inflight = m;
		fs->has_inflight = true;
	}
	pthread_rwlock_unlock(&fs->ns_lock);
	if (!known)
		rc = -EINVAL;
	if (rc == 0)
		rc = famfs_fs_append(fs, &le);
	if (rc == 0 && out)
		rc = famfs_ns_resolve(&fs->ns, relpath, out);
	famfs_fs_unlock(fs);
	return rc;
}

/*
 * The current view's inode of @i, or NULL when it is not linked there: a caller may hold
 * a pointer from before a compaction that happened in its own locked session (the view
 * was rebuilt; inode numbers stay).
 */
static struct famfs_inode *current_of(struct famfs_fs *fs, struct famfs_inode *i)
{
	return famfs_ns_get(&fs->ns, i->ino);
}

/* The linked child @name of @dir, after the lock's refresh; NULL with -ENOENT logged. */
static struct famfs_inode *child_of(struct famfs_fs *fs, struct famfs_inode *dir, const char *name,
				    int *rc)
{
	struct famfs_inode *c;

	dir = current_of(fs, dir);
	if (!dir) {
		*rc = -ENOENT; /* the directory itself was removed */
		return NULL;
	}
	c = famfs_ns_lookup(&fs->ns, dir, name, strlen(name));
	if (!c)
		*rc = -ENOENT;
	return c;
}

int famfs_fs_remove(struct famfs_fs *fs, struct famfs_inode *dir, const char *name)
{
	struct famfs_log_entry le;
	struct famfs_xe_remove *r = (void *)le.le_payload;
	struct famfs_inode *victim;
	int rc = famfs_fs_lock(fs);

	if (rc)
		return rc;
	victim = child_of(fs, dir, name, &rc);
	if (!victim)
		goto out_unlock;
	dir = current_of(fs, dir);
	if (S_ISDIR(victim->mode) && victim->nchildren) {
		famfs_err("'%s': directory not empty", name);
		rc = -ENOTEMPTY;
		goto out_unlock;
	}
	xe_init(&le, FAMFS_XE_REMOVE, victim->ino);
	r->xr_parent = dir->ino;
	if (long_name(victim->name))
		r->xr_hdr.xh_version = FAMFS_XE_VERSION_LONG;
	memcpy(((struct famfs_xe_remove3 *)r)->xr_name, victim->name, victim->namelen + 1);
	rc = famfs_fs_append(fs, &le);
out_unlock:
	famfs_fs_unlock(fs);
	return rc;
}

/* Length of the longest path below @ino once @ino's own path is @base bytes. */
static size_t deepest(const struct famfs_inode *ino, size_t base)
{
	const struct famfs_inode *c;
	size_t max = base;

	famfs_ns_foreach_child(ino, c)
	{
		size_t d = deepest(c, base + 1 + c->namelen);

		if (d > max)
			max = d;
	}
	return max;
}

int famfs_fs_rename(struct famfs_fs *fs, struct famfs_inode *olddir, const char *oldname,
		    struct famfs_inode *newdir, const char *newname)
{
	char path[FAMFS_PATH_MAX + 2], why[200];
	struct famfs_log_entry le;
	struct famfs_xe_rename *n = (void *)le.le_payload;
	struct famfs_inode *obj, *target;
	size_t plen;
	int rc = famfs_fs_lock(fs);

	if (rc)
		return rc;
	obj = child_of(fs, olddir, oldname, &rc);
	if (!obj)
		goto out_unlock;
	olddir = current_of(fs, olddir);
	newdir = current_of(fs, newdir);
	if (!newdir || !S_ISDIR(newdir->mode)) {
		rc = -ENOENT;
		goto out_unlock;
	}
	rc = famfs_relpath_check(newname, why, sizeof(why));
	if (rc == 0 && strchr(newname, '/'))
		rc = -EINVAL;
	if (rc) {
		famfs_err("rename to '%s': not a valid name", newname);
		goto out_unlock;
	}
	for (const struct famfs_inode *a = newdir; a; a = a->parent) {
		if (a == obj) {
			famfs_err("rename: '%s' cannot move into itself", oldname);
			rc = -EINVAL;
			goto out_unlock;
		}
	}
	/* Every path below the new name must stay within PATH_MAX. */
	if (famfs_ns_path(newdir, path, sizeof(path))) {
		rc = -ENAMETOOLONG;
		goto out_unlock;
	}
	plen = strlen(path) + (*path ? 1 : 0) + strlen(newname);
	if (deepest(obj, plen) > FAMFS_PATH_MAX) {
		famfs_err("rename to '%.80s': a path would exceed %d bytes", newname,
			  FAMFS_PATH_MAX);
		rc = -ENAMETOOLONG;
		goto out_unlock;
	}
	target = famfs_ns_lookup(&fs->ns, newdir, newname, strlen(newname));
	if (target && famfs_ns_target(target) == famfs_ns_target(obj)) {
		rc = 0; /* the same object (or two hard links of it): POSIX says do nothing */
		goto out_unlock;
	}
	if (target) {
		if (S_ISDIR(target->mode) && !S_ISDIR(obj->mode))
			rc = -EISDIR;
		else if (!S_ISDIR(target->mode) && S_ISDIR(obj->mode))
			rc = -ENOTDIR;
		else if (S_ISDIR(target->mode) && target->nchildren)
			rc = -ENOTEMPTY;
		if (rc) {
			famfs_err("rename onto '%s': %s", newname, strerror(-rc));
			goto out_unlock;
		}
	}
	xe_init(&le, FAMFS_XE_RENAME, obj->ino);
	n->xn_old_parent = olddir->ino;
	n->xn_new_parent = newdir->ino;
	n->xn_replaced = target ? target->ino : 0;
	if (long_name(obj->name) || long_name(newname)) {
		n->xn_hdr.xh_version = FAMFS_XE_VERSION_LONG; /* no old name kept */
		memcpy(((struct famfs_xe_rename3 *)n)->xn_new_name, newname, strlen(newname) + 1);
	} else {
		memcpy(n->xn_old_name, obj->name, obj->namelen + 1);
		memcpy(n->xn_new_name, newname, strlen(newname) + 1);
	}
	rc = famfs_fs_append(fs, &le);
out_unlock:
	famfs_fs_unlock(fs);
	return rc;
}

/*
 * Growing @ino hit a memory error at device offset @bad while zeroing its new bytes: in
 * the file's own space the file gets the memory-error mark (I/O answers -EIO, as a read
 * would have found); in space just allocated for it, that unit is kept from use.
 */
static void resize_memerr(struct famfs_fs *fs, struct famfs_inode *ino, uint64_t bad)
{
	const struct famfs_omf_fmap *m = &ino->fmap;
	bool own = false;

	if (m->fmap_ext_type == FAMFS_EXT_SIMPLE) {
		for (uint32_t k = 0; k < m->fmap_count && k < FAMFS_MAX_SIMPLE_EXT; k++)
			own |= bad >= m->se[k].ext_offset &&
			       bad < m->se[k].ext_offset + m->se[k].ext_len;
	} else {
		own = true; /* an interleaved file never grows past its own allocation */
	}
	pthread_rwlock_wrlock(&fs->ns_lock);
	if (own) {
		if (!ino->memerr)
			famfs_err("%s: memory error (SIGBUS) at device offset 0x%llx in inode %llu "
				  "('%s') while growing it; the file now answers I/O errors",
				  fs->dev->path, (unsigned long long)bad,
				  (unsigned long long)ino->ino, ino->name);
		ino->memerr = true;
	} else {
		bad_unit_locked(fs, bad, "zeroing space allocated to grow a file");
	}
	pthread_rwlock_unlock(&fs->ns_lock);
}

/* Does every extent of @m start and end on a multiple of @unit? */
static bool fmap_aligned(const struct famfs_omf_fmap *m, uint64_t unit)
{
	const struct famfs_omf_extent *e =
	    m->fmap_ext_type == FAMFS_EXT_SIMPLE ? m->se : m->ie[0].ie_strips;
	uint64_t n = m->fmap_ext_type == FAMFS_EXT_SIMPLE ? m->fmap_count : m->ie[0].ie_nstrips;

	for (uint64_t k = 0; k < n && k < FAMFS_MAX_SIMPLE_EXT; k++)
		if (e[k].ext_offset % unit || e[k].ext_len % unit)
			return false;
	return true;
}

bool fs_fmap_packed(const struct famfs_fs *fs, const struct famfs_omf_fmap *m)
{
	return !fmap_aligned(m, fs->sb->sb_alloc_unit);
}

/*
 * Allocate what growing the simple map @m from @cap to @size bytes needs and add it to
 * @m. A file that stays under 2 MiB is packed: its last packed extent grows in place
 * where the next pages are free, else a new packed extent is added. A larger file gets
 * 2 MiB-aligned blocks, in place after its last block where they are free. A deferred
 * growth (@keep) that needs a new extent takes at least as much as the file holds
 * already, so that writers whose growth interleaves need few extents (16 at most); its
 * commit gives back what lies past the end (defer.c). The caller holds the appender
 * lock.
 */
/* The most a deferred growth takes beyond what it needs (given back at its commit). */
#define GROW_MAX (256ULL << 20)

static int grow_map(struct famfs_fs *fs, struct famfs_inode *ino, struct famfs_omf_fmap *m,
		    uint64_t cap, uint64_t size, bool keep)
{
	struct famfs_omf_extent *last = m->fmap_count ? &m->se[m->fmap_count - 1] : NULL;
	uint64_t page = fs->bm.unit, align = fs->bm.align;
	struct famfs_omf_fmap add;
	int rc = -ENOSPC;

	if (size < align && (!last || last->ext_offset % align || last->ext_len % align)) {
		uint64_t need = (size + page - 1) / page * page - cap;
		uint64_t more = cap > need ? (cap < align - page ? cap : align - page) : need;

		if (last)
			rc = allocate(fs, need, NULL, &add, ino->name, ALLOC_AT,
				      last->ext_offset + last->ext_len, keep);
		if (rc == -ENOSPC && more > need && keep)
			rc = allocate(fs, more, NULL, &add, ino->name, ALLOC_PACKED, 0, keep);
		if (rc == -ENOSPC)
			rc = allocate(fs, need, NULL, &add, ino->name, ALLOC_PACKED, 0, keep);
	} else {
		uint64_t need = (size - cap + align - 1) / align * align;
		uint64_t more = cap < GROW_MAX ? cap : GROW_MAX;

		if (keep && last && cap < align && fs_fmap_packed(fs, m)) {
			/* A packed file grows past 2 MiB before anyone saw its map: it moves to
			 * 2 MiB-aligned space (at most 2 MiB to copy), so that it keeps one
			 * extent, maps with huge pages and can be published upstream. */
			rc = allocate(fs, (size + align - 1) / align * align, NULL, &add, ino->name,
				      ALLOC_LARGE, 0, true);
			if (rc == 0)
				return fs_dirty_relocate(fs, ino, m, &add);
			rc = -ENOSPC;
		}

		if (last && last->ext_offset % align == 0 && last->ext_len % align == 0)
			rc = allocate(fs, need, NULL, &add, ino->name, ALLOC_AT,
				      last->ext_offset + last->ext_len, keep);
		if (rc == -ENOSPC && more > need && keep)
			rc = allocate(fs, more, NULL, &add, ino->name, ALLOC_LARGE, 0, keep);
		if (rc == -ENOSPC)
			rc = allocate(fs, need, NULL, &add, ino->name, ALLOC_LARGE, 0, keep);
	}
	if (rc)
		return rc;
	/* Extend the last extent when the new one follows it on the device. */
	if (last && last->ext_offset + last->ext_len == add.se[0].ext_offset)
		last->ext_len += add.se[0].ext_len;
	else
		m->se[m->fmap_count++] = add.se[0];
	return 0;
}

/* Has @ino changes not logged yet? */
static bool uncommitted(struct famfs_fs *fs, uint64_t ino)
{
	bool r;

	pthread_rwlock_rdlock(&fs->ns_lock);
	r = fs_dirty_find(fs, ino) != NULL;
	pthread_rwlock_unlock(&fs->ns_lock);
	return r;
}

/*
 * Set @ino's size to @size; the caller writes [@from, @size) itself (nothing to zero).
 * @defer: keep the new size and map in memory until the file is committed (defer.c).
 */
static int resize(struct famfs_fs *fs, struct famfs_inode *ino, uint64_t size, uint64_t from,
		  bool defer)
{
	uint64_t cap;
	struct famfs_log_entry le;
	struct famfs_xe_resize *z = (void *)le.le_payload;
	struct famfs_omf_fmap m;
	int rc;

	if (size > fs->dev->size) {
		/* No file can be larger than the device (SETATTR of 2^64 - 1: NFS4ERR_FBIG). */
		famfs_err("'%s': %llu bytes is more than the device holds (%llu)", ino->name,
			  (unsigned long long)size, (unsigned long long)fs->dev->size);
		return -EFBIG;
	}
	rc = famfs_fs_lock(fs);
	if (rc)
		return rc;
	ino = current_of(fs, ino);
	if (ino && !defer && uncommitted(fs, ino->ino)) {
		/* Log what is pending first: this entry then starts from the logged state. */
		rc = fs_dirty_commit(fs, ino->ino);
		if (rc)
			goto out_unlock;
		ino = current_of(fs, ino);
	}
	if (!ino || (!ino->parent && !ino->nameless)) {
		rc = -ENOENT;
		goto out_unlock;
	}
	if (S_ISDIR(ino->mode)) {
		rc = -EISDIR;
		goto out_unlock;
	}
	m = ino->fmap;
	cap = famfs_fmap_capacity(&m);
	if (size > cap) {
		if (m.fmap_ext_type != FAMFS_EXT_SIMPLE) {
			famfs_err("'%s': an interleaved file cannot grow past its %llu allocated "
				  "bytes",
				  ino->name, (unsigned long long)cap);
			rc = -EFBIG;
			goto out_unlock;
		}
		if (m.fmap_count >= FAMFS_MAX_SIMPLE_EXT) {
			famfs_err("'%s': the map already holds %d extents", ino->name,
				  FAMFS_MAX_SIMPLE_EXT);
			rc = -EFBIG;
			goto out_unlock;
		}
		rc = grow_map(fs, ino, &m, cap, size, defer);
		if (rc)
			goto out_unlock;
	} else if (size < ino->size && m.fmap_ext_type == FAMFS_EXT_SIMPLE) {
		/* Keep whole blocks up to the new end (pages for a packed map); the rest is
		 * given up. */
		uint64_t unit = fmap_aligned(&m, fs->bm.align) ? fs->bm.align : fs->bm.unit;
		uint64_t keep = (size + unit - 1) / unit * unit, base = 0;
		uint32_t k;

		for (k = 0; k < m.fmap_count && base < keep; k++) {
			if (base + m.se[k].ext_len > keep)
				m.se[k].ext_len = keep - base;
			base += m.se[k].ext_len;
		}
		for (uint32_t j = k; j < m.fmap_count; j++)
			memset(&m.se[j], 0, sizeof(m.se[j]));
		m.fmap_count = k;
	}
	/* Bytes between the old end and the new one read as zeros (POSIX), whatever the
	 * allocation held before; a writer's own range is not zeroed first. */
	if (from > ino->size) {
		uint64_t cap_new = famfs_fmap_capacity(&m), upto = from < size ? from : size;
		uint64_t bad = 0;

		rc = fs_fmap_zero(fs, &m, ino->size, (upto < cap_new ? upto : cap_new) - ino->size,
				  &bad);
		if (rc == -EIO)
			resize_memerr(fs, ino, bad);
		if (rc)
			goto out_unlock;
	}
	if (defer && size > ino->size) {
		rc = fs_dirty_set_map(fs, ino, size, &m);
		if (rc == -ENOSPC) {
			/* No room to list more reserved space: commit the others first. */
			uint64_t num = ino->ino;

			fs_dirty_commit_all(fs);
			ino = current_of(fs, ino);
			rc = ino && ino->ino == num ? fs_dirty_set_map(fs, ino, size, &m) : -ENOENT;
		}
		goto out_unlock;
	}
	xe_init(&le, FAMFS_XE_RESIZE, ino->ino);
	if (fs_fmap_packed(fs, &m))
		z->xz_hdr.xh_version = FAMFS_XE_VERSION_PACKED;
	z->xz_size = size;
	z->xz_fmap = m;
	rc = famfs_fs_append(fs, &le);
out_unlock:
	famfs_fs_unlock(fs);
	return rc;
}

int famfs_fs_resize(struct famfs_fs *fs, struct famfs_inode *ino, uint64_t size)
{
	return resize(fs, ino, size, size, false);
}

int famfs_fs_grow(struct famfs_fs *fs, uint64_t ino, uint64_t from, uint64_t size)
{
	struct famfs_inode *i;
	int rc = famfs_fs_lock(fs);

	if (rc)
		return rc;
	i = famfs_ns_get(&fs->ns, ino); /* stable: only this host's appenders change it */
	if (!i)
		rc = -ENOENT;
	else if (size > i->size)
		rc = resize(fs, i, size, from < size ? from : size, false);
	famfs_fs_unlock(fs);
	return rc;
}

int famfs_fs_grow_deferred(struct famfs_fs *fs, uint64_t ino, uint64_t from, uint64_t size)
{
	struct famfs_inode *i;
	int rc;

	if (!fs_resv_can(fs))
		return famfs_fs_grow(fs, ino, from, size);
	rc = famfs_fs_lock(fs);
	if (rc)
		return rc;
	i = famfs_ns_get(&fs->ns, ino);
	if (!i || i->removed_at != UINT64_MAX)
		rc = -ENOENT;
	else if (size > i->size)
		rc = resize(fs, i, size, from < size ? from : size, S_ISREG(i->mode));
	famfs_fs_unlock(fs);
	return rc;
}

int famfs_fs_setattr(struct famfs_fs *fs, struct famfs_inode *ino, uint32_t valid, mode_t mode,
		     uid_t uid, gid_t gid, uint64_t mtime_ns, uint64_t atime_ns)
{
	struct famfs_log_entry le;
	struct famfs_xe_setattr *a = (void *)le.le_payload;
	int rc = famfs_fs_lock(fs);

	if (rc)
		return rc;
	ino = current_of(fs, ino);
	if (!ino) {
		rc = -ENOENT;
		goto out_unlock;
	}
	if (uncommitted(fs, ino->ino)) {
		/* One entry: the pending size, map and attributes with these. */
		rc = famfs_fs_setattr_deferred(fs, ino->ino, valid, mode, uid, gid, mtime_ns,
					       atime_ns);
		if (!rc)
			rc = fs_dirty_commit(fs, ino->ino);
		goto out_unlock;
	}
	{
		struct fs_attrs at = {valid, mode & 07777, uid, gid, mtime_ns, atime_ns};

		fs_attrs_filter(ino, &at); /* a no-op costs no log entry */
		valid = at.valid;
	}
	if (!valid)
		goto out_unlock;
	xe_init(&le, FAMFS_XE_SETATTR, ino->ino);
	a->xs_valid = valid;
	a->xs_mode = mode & 07777;
	a->xs_uid = uid;
	a->xs_gid = gid;
	a->xs_mtime_ns = mtime_ns;
	a->xs_atime_ns = atime_ns;
	rc = famfs_fs_append(fs, &le);
out_unlock:
	famfs_fs_unlock(fs);
	return rc;
}

void famfs_fs_pin(struct famfs_fs *fs, struct famfs_inode *ino)
{
	pthread_rwlock_wrlock(&fs->ns_lock);
	ino->pins++;
	fs->npins++;
	pthread_rwlock_unlock(&fs->ns_lock);
}

struct famfs_inode *famfs_fs_pin_ino(struct famfs_fs *fs, uint64_t ino)
{
	struct famfs_inode *i;

	pthread_rwlock_wrlock(&fs->ns_lock);
	i = famfs_ns_get(&fs->ns, ino);
	if (i) {
		i->pins++;
		fs->npins++;
	}
	pthread_rwlock_unlock(&fs->ns_lock);
	return i;
}

void famfs_fs_unpin(struct famfs_fs *fs, struct famfs_inode *ino)
{
	bool last;

	pthread_rwlock_wrlock(&fs->ns_lock);
	if (ino->pins) {
		ino->pins--;
		fs->npins--;
	}
	last = !ino->pins && ino->removed_at != UINT64_MAX;
	pthread_rwlock_unlock(&fs->ns_lock);
	if (last) {
		fs_hosts_publish(fs); /* the space this process held may now be reused */
		fs_reap(fs);	      /* and its memory is returned (@ino is gone after this) */
	}
}
