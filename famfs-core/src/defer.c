/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file defer.c
 * @brief Deferred commit: a file's new size, map and attributes kept in memory and
 *        logged in one entry when the file is committed (see "Deferred commit" in
 *        famfs/omf_ext.h).
 *
 * Owns: the list of pending records (struct fs_dirty), one per inode at most, and this
 * process's reservation area (the space pending maps hold that the log does not).
 * Invariants: the space of a pending map that the logged map does not hold is marked
 * used in fs->bm and listed in the reservation area (or about to be, under the same
 * appender session); an applied record's inode holds the pending values and the record
 * what the log says, so replay of another process's entry on it works from the logged
 * state (fs_dirty_before/after) and a rebuilt view gets the pending values back
 * (fs_dirty_attach_all).
 * Locking: the list changes under the appender lock and ns_lock (write); replay's hooks
 * run under ns_lock only and never publish the area (they only ever shrink what is held,
 * so a stale area holds back space, never hands it out).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "famfs/io.h"
#include "fs_priv.h"

/* The linked inode @ino of the current view, or NULL (gone, or removed but open). */
static struct famfs_inode *alive(struct famfs_fs *fs, uint64_t ino)
{
	struct famfs_inode *i = famfs_ns_get(&fs->ns, ino);

	return i && i->removed_at == UINT64_MAX ? i : NULL;
}

struct fs_dirty *fs_dirty_find(struct famfs_fs *fs, uint64_t ino)
{
	for (size_t k = 0; k < fs->ndirty; k++)
		if (fs->dirty[k].ino == ino)
			return &fs->dirty[k];
	return NULL;
}

static bool holds(const struct famfs_omf_fmap *m, uint64_t off)
{
	if (m->fmap_ext_type != FAMFS_EXT_SIMPLE)
		return false;
	for (uint32_t k = 0; k < m->fmap_count && k < FAMFS_MAX_SIMPLE_EXT; k++)
		if (off >= m->se[k].ext_offset && off < m->se[k].ext_offset + m->se[k].ext_len)
			return true;
	return false;
}

/*
 * The pages of @d's pending map that its logged map does not hold: marked used (@mark)
 * or given back, except pages the log has pending free (they stay used either way).
 */
static void pending_pages(struct famfs_fs *fs, const struct fs_dirty *d, bool mark)
{
	uint64_t unit = fs->bm.unit;

	if (!d->map || d->fmap.fmap_ext_type != FAMFS_EXT_SIMPLE)
		return;
	for (uint32_t k = 0; k < d->fmap.fmap_count && k < FAMFS_MAX_SIMPLE_EXT; k++) {
		const struct famfs_omf_extent *e = &d->fmap.se[k];

		for (uint64_t off = e->ext_offset; off < e->ext_offset + e->ext_len; off += unit) {
			uint64_t b = off / unit;

			if (holds(&d->l_fmap, off) || b >= fs->bm.nbits ||
			    ((fs->pending_bm.words[b / 64] >> (b % 64)) & 1))
				continue;
			if (mark)
				famfs_bitmap_mark(&fs->bm, off, unit);
			else
				famfs_bitmap_clear(&fs->bm, off, unit);
		}
	}
}

/* The inode gets what the log says for the pending fields. */
static void undo(struct famfs_fs *fs, struct fs_dirty *d)
{
	struct famfs_inode *i = famfs_ns_get(&fs->ns, d->ino); /* removed ones too */

	if (!d->applied || !i)
		return;
	struct fs_attrs l = d->l_attrs;

	if (d->map) {
		i->size = d->l_size;
		i->fmap = d->l_fmap;
	}
	l.valid = d->attrs.valid;
	fs_attrs_apply(i, &l);
	d->applied = false;
}

/* Remember what the log says, give the inode the pending values. */
static void redo(struct famfs_fs *fs, struct fs_dirty *d, struct famfs_inode *i)
{
	if (d->applied)
		return;
	d->l_size = i->size;
	d->l_fmap = i->fmap;
	fs_attrs_of(i, &d->l_attrs);
	if (d->map) {
		i->size = d->size;
		i->fmap = d->fmap;
	}
	fs_attrs_apply(i, &d->attrs);
	d->applied = true;
	(void)fs;
}

static void remove_at(struct famfs_fs *fs, struct fs_dirty *d)
{
	*d = fs->dirty[--fs->ndirty];
}

/* Forget @d: its unlogged space is free again (nobody else ever saw it). */
static void forget(struct famfs_fs *fs, struct fs_dirty *d)
{
	undo(fs, d);
	pending_pages(fs, d, false);
	remove_at(fs, d);
	fs->resv_stale = true;
}

void fs_dirty_before(struct famfs_fs *fs, uint64_t ino)
{
	struct fs_dirty *d = fs_dirty_find(fs, ino);

	if (d && !d->detached)
		undo(fs, d);
}

void fs_dirty_after(struct famfs_fs *fs, uint64_t ino)
{
	struct fs_dirty *d = fs_dirty_find(fs, ino);
	struct famfs_inode *i = alive(fs, ino);

	if (d && i && !d->detached)
		redo(fs, d, i);
}

void fs_dirty_gone(struct famfs_fs *fs, uint64_t ino)
{
	struct fs_dirty *d = fs_dirty_find(fs, ino);

	if (d && !d->detached && !alive(fs, ino)) {
		/* Removed (by the log): a removed inode keeps its logged values. */
		if (d->applied)
			undo(fs, d);
		forget(fs, d);
	}
}

void fs_dirty_detach_all(struct famfs_fs *fs)
{
	for (size_t k = 0; k < fs->ndirty; k++) {
		fs->dirty[k].applied = false; /* the old inodes keep what they had */
		fs->dirty[k].detached = true;
	}
}

void fs_dirty_attach_all(struct famfs_fs *fs)
{
	for (size_t k = 0; k < fs->ndirty;) {
		struct fs_dirty *d = &fs->dirty[k];
		struct famfs_inode *i = alive(fs, d->ino);

		if (!i) {
			/* Gone from the rebuilt view: its unlogged pages were never marked in the
			 * rebuilt bitmap; the area forgets them at the next publish. (A view that
			 * was not rebuilt dropped its records in fs_dirty_gone().) */
			remove_at(fs, d);
			fs->resv_stale = true;
			continue;
		}
		bool mark = d->detached || !d->applied;

		if (!d->applied)
			redo(fs, d, i);
		if (mark)
			pending_pages(fs, d, true); /* a rebuilt bitmap knows only the log */
		d->detached = false;
		k++;
	}
	/* Preallocated files-to-be: a rebuilt bitmap knows only the log. */
	for (size_t k = 0; k < fs->npre; k++)
		famfs_bitmap_mark_fmap(&fs->bm, &fs->pre[k]);
}

void fs_dirty_undo_all(struct famfs_fs *fs)
{
	for (size_t k = 0; k < fs->ndirty; k++)
		undo(fs, &fs->dirty[k]);
}

/* Add @x to @e[*n]; false when the area is full. */
static bool resv_add(struct famfs_resv_extent *e, uint32_t *n, const struct famfs_omf_extent *x)
{
	if (*n == FAMFS_RESV_MAX)
		return false;
	e[*n].re_off = x->ext_offset;
	e[(*n)++].re_len = x->ext_len;
	return true;
}

/* List every pending map's unlogged extents, and every preallocation, in this process's
 * area. */
static int publish(struct famfs_fs *fs)
{
	struct famfs_resv_extent e[FAMFS_RESV_MAX];
	uint32_t n = 0;

	for (size_t k = 0; k < fs->npre; k++) {
		const struct famfs_omf_fmap *m = &fs->pre[k];
		bool il = m->fmap_ext_type == FAMFS_EXT_INTERLEAVE;
		uint32_t cnt = il ? (uint32_t)m->ie[0].ie_nstrips : m->fmap_count;

		for (uint32_t x = 0; x < cnt; x++)
			if (!resv_add(e, &n, il ? &m->ie[0].ie_strips[x] : &m->se[x]))
				return -ENOSPC;
	}

	for (size_t k = 0; k < fs->ndirty; k++) {
		const struct fs_dirty *d = &fs->dirty[k];

		for (uint32_t x = 0; d->map && x < d->fmap.fmap_count; x++) {
			const struct famfs_omf_extent *se = &d->fmap.se[x];
			bool logged = false;

			for (uint32_t y = 0; y < d->l_fmap.fmap_count; y++)
				logged |= d->l_fmap.se[y].ext_offset == se->ext_offset &&
					  d->l_fmap.se[y].ext_len == se->ext_len;
			if (logged)
				continue;
			if (!resv_add(e, &n, se))
				return -ENOSPC;
		}
	}
	fs_resv_publish(fs, e, n);
	fs->resv_stale = false;
	return 0;
}

int fs_pre_publish(struct famfs_fs *fs)
{
	return publish(fs);
}

static struct fs_dirty *get_record(struct famfs_fs *fs, struct famfs_inode *ino)
{
	struct fs_dirty *d = fs_dirty_find(fs, ino->ino);

	if (d)
		return d;
	if (fs->ndirty == fs->dirty_cap) {
		size_t cap = fs->dirty_cap ? fs->dirty_cap * 2 : 16;
		void *n = realloc(fs->dirty, cap * sizeof(*fs->dirty));

		if (!n)
			return NULL;
		fs->dirty = n;
		fs->dirty_cap = cap;
	}
	d = &fs->dirty[fs->ndirty++];
	memset(d, 0, sizeof(*d));
	d->ino = ino->ino;
	d->since_ns = fs_now_ns();
	redo(fs, d, ino); /* nothing pending yet: only remembers the logged values */
	return d;
}

int fs_dirty_relocate(struct famfs_fs *fs, struct famfs_inode *ino, struct famfs_omf_fmap *m,
		      const struct famfs_omf_fmap *nm)
{
	uint64_t pos = 0, unit = fs->bm.unit, dst = nm->se[0].ext_offset;
	struct fs_dirty *d;
	void *fault;
	int rc = 0;

	pthread_rwlock_wrlock(&fs->ns_lock); /* no reader or writer of the file meanwhile */
	d = get_record(fs, ino);
	if (!d) {
		rc = -ENOMEM;
		goto out;
	}
	for (uint32_t k = 0; k < m->fmap_count && pos < ino->size; k++) {
		uint64_t n =
		    m->se[k].ext_len < ino->size - pos ? m->se[k].ext_len : ino->size - pos;

		if (fs_dev_fill(fs->dev->base + dst + pos, fs->dev->base + m->se[k].ext_offset, n,
				&fault)) {
			famfs_err(
			    "'%s': memory error (SIGBUS) moving it to 2 MiB-aligned space; it "
			    "stays where it is",
			    ino->name);
			rc = -EIO;
			goto out;
		}
		pos += n;
	}
	/* The old pages that the log does not hold were this process's only: free. */
	for (uint32_t k = 0; k < m->fmap_count; k++) {
		for (uint64_t off = m->se[k].ext_offset;
		     off < m->se[k].ext_offset + m->se[k].ext_len; off += unit) {
			uint64_t b = off / unit;

			if (!holds(&d->l_fmap, off) && b < fs->bm.nbits &&
			    !((fs->pending_bm.words[b / 64] >> (b % 64)) & 1))
				famfs_bitmap_clear(&fs->bm, off, unit);
		}
	}
	d->map = true;
	d->size = ino->size;
	d->fmap = *nm;
	ino->fmap = *nm;
	*m = *nm;
out:
	if (rc)
		famfs_bitmap_clear_fmap(&fs->bm, nm);
	pthread_rwlock_unlock(&fs->ns_lock);
	return rc;
}

int fs_dirty_set_map(struct famfs_fs *fs, struct famfs_inode *ino, uint64_t size,
		     const struct famfs_omf_fmap *m)
{
	struct fs_dirty *d, save;
	bool had_map;
	int rc;

	pthread_rwlock_wrlock(&fs->ns_lock);
	d = get_record(fs, ino);
	if (!d) {
		pthread_rwlock_unlock(&fs->ns_lock);
		return -ENOMEM;
	}
	save = *d;
	had_map = d->map;
	d->map = true;
	d->size = size;
	d->fmap = *m;
	ino->size = size;
	ino->fmap = *m;
	pending_pages(fs, d, true); /* marked by the allocation, unless a compaction rebuilt */
	rc = publish(fs);
	if (rc) {
		/* The area is full: the caller logs the change instead. */
		*d = save;
		if (had_map) {
			ino->size = d->size;
			ino->fmap = d->fmap;
		} else {
			ino->size = d->l_size;
			ino->fmap = d->l_fmap;
			if (!d->attrs.valid)
				remove_at(fs, d);
		}
	}
	pthread_rwlock_unlock(&fs->ns_lock);
	return rc;
}

/*
 * What a deferred growth took past the end (growth takes room to grow into) is given
 * back before the commit: whole pages (2 MiB blocks for an aligned extent) of the last
 * extent past the size. Pages the log does not hold are free again at once.
 */
static void trim(struct famfs_fs *fs, struct fs_dirty *d)
{
	uint64_t unit = fs->bm.unit, cap, base, gran, keep;
	struct famfs_omf_extent *e;

	if (!d->map || d->fmap.fmap_ext_type != FAMFS_EXT_SIMPLE || !d->fmap.fmap_count)
		return;
	e = &d->fmap.se[d->fmap.fmap_count - 1];
	cap = famfs_fmap_capacity(&d->fmap);
	base = cap - e->ext_len;
	gran = e->ext_offset % fs->bm.align == 0 && e->ext_len % fs->bm.align == 0 ? fs->bm.align
										   : unit;
	keep = d->size > base ? (d->size - base + gran - 1) / gran * gran : 0;
	if (keep >= e->ext_len || famfs_fmap_capacity(&d->l_fmap) > base + keep)
		return; /* nothing to give back, or the log's map is longer: leave it */
	for (uint64_t off = e->ext_offset + keep; off < e->ext_offset + e->ext_len; off += unit) {
		uint64_t b = off / unit;

		if (!holds(&d->l_fmap, off) && b < fs->bm.nbits &&
		    !((fs->pending_bm.words[b / 64] >> (b % 64)) & 1))
			famfs_bitmap_clear(&fs->bm, off, unit);
	}
	if (keep) {
		e->ext_len = keep;
	} else {
		memset(e, 0, sizeof(*e));
		d->fmap.fmap_count--;
	}
}

/*
 * Publication: a file that clients created is logged in upstream's FILE form at its
 * first commit when upstream can express it (omf_ext.h): a regular file not yet
 * upstream's, nothing logged of its map, a size, 1 or 2 2 MiB-aligned simple extents, a
 * path of at most 79 bytes under directories upstream holds that no earlier FILE or
 * MKDIR named. Fills @le and returns true; the caller holds ns_lock.
 */
static bool publication(struct famfs_fs *fs, const struct fs_dirty *d, struct famfs_log_entry *le)
{
	struct famfs_inode *i = alive(fs, d->ino);
	char path[FAMFS_PATH_MAX + 1];
	struct famfs_inode cur;

	if (!i || !S_ISREG(i->mode) || i->nameless || i->upstream || !d->map ||
	    d->l_fmap.fmap_count || d->l_size || !d->size ||
	    d->fmap.fmap_ext_type != FAMFS_EXT_SIMPLE || d->fmap.fmap_count < 1 ||
	    d->fmap.fmap_count > 2 || fs_fmap_packed(fs, &d->fmap) ||
	    !fs_chain_upstream(i->parent) || famfs_ns_path(i, path, sizeof(path)) ||
	    strlen(path) > FAMFS_RELPATH_MAX || fs_upath_taken(fs, path))
		return false;
	/* Mode and owner as they will be (pending or logged). */
	memset(&cur, 0, sizeof(cur));
	fs_attrs_apply(&cur, &d->l_attrs);
	fs_attrs_apply(&cur, &d->attrs);
	memset(le, 0, sizeof(*le));
	le->le_type = FAMFS_LOG_FILE;
	le->le_file.fm_size = d->size;
	le->le_file.fm_flags = FAMFS_FM_ALL_HOSTS_RW;
	le->le_file.fm_uid = cur.uid;
	le->le_file.fm_gid = cur.gid;
	le->le_file.fm_mode = cur.mode & 07777;
	memcpy(le->le_file.fm_relpath, path, strlen(path) + 1);
	le->le_file.fm_fmap = d->fmap;
	return true;
}

/* Build the one entry that logs @d. */
static void build(struct famfs_fs *fs, const struct fs_dirty *d, struct famfs_log_entry *le)
{
	struct famfs_xe_hdr *h = (void *)le->le_payload;

	memset(le, 0, sizeof(*le));
	h->xh_version = FAMFS_XE_VERSION;
	h->xh_ino = d->ino;
	h->xh_time_ns = fs_now_ns();
	if (d->map) {
		struct famfs_xe_resize *z = (void *)le->le_payload;

		le->le_type = FAMFS_XE_RESIZE;
		z->xz_size = d->size;
		z->xz_fmap = d->fmap;
		z->xz_valid = d->attrs.valid;
		z->xz_mode = d->attrs.mode & 07777;
		z->xz_uid = d->attrs.uid;
		z->xz_gid = d->attrs.gid;
		z->xz_mtime_ns = d->attrs.mtime_ns;
		z->xz_atime_ns = d->attrs.atime_ns;
		if (d->attrs.valid || fs_fmap_packed(fs, &d->fmap))
			h->xh_version = FAMFS_XE_VERSION_PACKED;
	} else {
		struct famfs_xe_setattr *a = (void *)le->le_payload;

		le->le_type = FAMFS_XE_SETATTR;
		a->xs_valid = d->attrs.valid;
		a->xs_mode = d->attrs.mode & 07777;
		a->xs_uid = d->attrs.uid;
		a->xs_gid = d->attrs.gid;
		a->xs_mtime_ns = d->attrs.mtime_ns;
		a->xs_atime_ns = d->attrs.atime_ns;
	}
}

int fs_dirty_commit(struct famfs_fs *fs, uint64_t ino)
{
	struct famfs_log_entry le;
	struct fs_dirty *d, saved;
	bool published;
	int rc;

	pthread_rwlock_wrlock(&fs->ns_lock);
	d = fs_dirty_find(fs, ino);
	if (!d) {
		pthread_rwlock_unlock(&fs->ns_lock);
		return 0;
	}
	if (!d->map && !d->attrs.valid) {
		remove_at(fs, d);
		pthread_rwlock_unlock(&fs->ns_lock);
		return 0;
	}
	trim(fs, d);
	saved = *d;
	d->l_attrs.valid = FAMFS_XE_SET_MODE | FAMFS_XE_SET_UID | FAMFS_XE_SET_GID;
	published = publication(fs, d, &le);
	if (!published)
		build(fs, d, &le);
	/* Replay of the entry claims the unlogged pages and sets the values. */
	undo(fs, d);
	pending_pages(fs, d, false);
	remove_at(fs, d);
	pthread_rwlock_unlock(&fs->ns_lock);
	rc = famfs_fs_append(fs, &le);
	if (rc == 0 && published &&
	    (saved.attrs.valid & (FAMFS_XE_SET_MTIME | FAMFS_XE_SET_ATIME))) {
		/* The times upstream's entry cannot carry. */
		struct famfs_xe_setattr *a = (void *)le.le_payload;

		memset(&le, 0, sizeof(le));
		le.le_type = FAMFS_XE_SETATTR;
		a->xs_hdr.xh_version = FAMFS_XE_VERSION;
		a->xs_hdr.xh_ino = ino;
		a->xs_hdr.xh_time_ns = fs_now_ns();
		a->xs_valid = saved.attrs.valid & (FAMFS_XE_SET_MTIME | FAMFS_XE_SET_ATIME);
		a->xs_mtime_ns = saved.attrs.mtime_ns;
		a->xs_atime_ns = saved.attrs.atime_ns;
		if (famfs_fs_append(fs, &le))
			famfs_warn("inode %llu: its times could not be logged",
				   (unsigned long long)ino);
	}
	pthread_rwlock_wrlock(&fs->ns_lock);
	if (rc) {
		/* Not logged: keep it pending, as it was. */
		struct famfs_inode *i = alive(fs, ino);

		if (i && fs->ndirty < fs->dirty_cap) {
			d = &fs->dirty[fs->ndirty++];
			*d = saved;
			d->applied = false;
			redo(fs, d, i);
			pending_pages(fs, d, true);
		}
	}
	(void)publish(fs); /* it only shrank */
	pthread_rwlock_unlock(&fs->ns_lock);
	return rc;
}

void fs_dirty_commit_all(struct famfs_fs *fs)
{
	for (;;) {
		uint64_t ino = 0;

		pthread_rwlock_rdlock(&fs->ns_lock);
		if (fs->ndirty)
			ino = fs->dirty[0].ino;
		pthread_rwlock_unlock(&fs->ns_lock);
		if (!ino || fs_dirty_commit(fs, ino))
			return;
	}
}

int famfs_fs_setattr_deferred(struct famfs_fs *fs, uint64_t ino, uint32_t valid, mode_t mode,
			      uid_t uid, gid_t gid, uint64_t mtime_ns, uint64_t atime_ns)
{
	struct fs_attrs want = {valid & (FAMFS_XE_SET_MODE | FAMFS_XE_SET_UID | FAMFS_XE_SET_GID |
					 FAMFS_XE_SET_MTIME | FAMFS_XE_SET_ATIME),
				mode & 07777,
				uid,
				gid,
				mtime_ns,
				atime_ns};
	struct famfs_inode *i, pending = {0};
	struct fs_dirty *d;
	int rc;

	if (!fs_resv_can(fs))
		return -EOPNOTSUPP;
	rc = famfs_fs_lock(fs);
	if (rc)
		return rc;
	pthread_rwlock_wrlock(&fs->ns_lock);
	i = alive(fs, ino);
	if (!i) {
		rc = -ENOENT;
		goto out;
	}
	fs_attrs_filter(i, &want);
	if (!want.valid)
		goto out;
	d = get_record(fs, i);
	if (!d) {
		rc = -ENOMEM;
		goto out;
	}
	fs_attrs_apply(i, &want);
	/* Merged into what is pending: the values of both, the new ones winning. */
	fs_attrs_apply(&pending, &d->attrs);
	fs_attrs_apply(&pending, &want);
	valid = d->attrs.valid | want.valid;
	fs_attrs_of(&pending, &d->attrs);
	d->attrs.valid = valid;
	i->ctime_ns = fs_now_ns();
out:
	pthread_rwlock_unlock(&fs->ns_lock);
	famfs_fs_unlock(fs);
	return rc;
}

int famfs_fs_commit(struct famfs_fs *fs, uint64_t ino)
{
	int rc;

	if (!__atomic_load_n(&fs->ndirty, __ATOMIC_RELAXED))
		return 0;
	rc = famfs_fs_lock(fs);
	if (rc)
		return rc;
	rc = fs_dirty_commit(fs, ino);
	famfs_fs_unlock(fs);
	return rc;
}

int famfs_fs_commit_older(struct famfs_fs *fs, uint64_t older_than_ns)
{
	int rc, first = 0;

	if (!__atomic_load_n(&fs->ndirty, __ATOMIC_RELAXED))
		return 0;
	rc = famfs_fs_lock(fs);
	if (rc)
		return rc;
	for (;;) {
		uint64_t ino = 0;

		pthread_rwlock_rdlock(&fs->ns_lock);
		for (size_t k = 0; k < fs->ndirty && !ino; k++)
			if (fs->dirty[k].since_ns <= older_than_ns)
				ino = fs->dirty[k].ino;
		pthread_rwlock_unlock(&fs->ns_lock);
		if (!ino)
			break;
		rc = fs_dirty_commit(fs, ino);
		if (rc) {
			if (!first)
				first = rc;
			/* Not logged (log full, ...): it stays pending; stop for now. */
			break;
		}
	}
	if (fs->resv_stale) {
		pthread_rwlock_wrlock(&fs->ns_lock);
		(void)publish(fs);
		pthread_rwlock_unlock(&fs->ns_lock);
	}
	famfs_fs_unlock(fs);
	return first;
}

size_t famfs_fs_uncommitted(struct famfs_fs *fs)
{
	return __atomic_load_n(&fs->ndirty, __ATOMIC_RELAXED);
}
