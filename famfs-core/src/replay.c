/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file replay.c
 * @brief Applying log entries to this process's view: namespace, bitmap, pending frees.
 *
 * Every process that replays the same log reaches the same namespace, the same inode
 * numbers and the same pending-free list, whether it replays from index 0 or
 * incrementally from any cursor: each entry is applied exactly once, in log order, and
 * its effect depends only on the state the entries before it left.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "famfs/cache.h"
#include "famfs/io.h"
#include "famfs/path.h"
#include "fs_priv.h"

/* ------------------------------------------------------------------ space accounting */

static inline bool bm_test(const struct famfs_bitmap *bm, uint64_t b)
{
	return (bm->words[b / 64] >> (b % 64)) & 1;
}

/* Remember the latest free that a claim reused (fsck checks it against the hosts). */
static void note_takeover(struct famfs_fs *fs, uint64_t off)
{
	for (size_t i = fs->npending; i-- > 0;) {
		const struct famfs_pending *p = &fs->pending[i];

		if (off >= p->off && off < p->off + p->len) {
			if (p->freed_at == fs->cur_index)
				return; /* a resize keeping its own unit: not a reuse */
			if (p->freed_at + 1 > fs->reuse_max_freed_at)
				fs->reuse_max_freed_at = p->freed_at + 1;
			return;
		}
	}
}

/* Claim [off, off+len): units that were pending are taken over, units in use collide. */
/* Are any of the bits [b, b + n) of @bm set? */
static bool any_set(const struct famfs_bitmap *bm, uint64_t b, uint64_t n)
{
	uint64_t end = b + n < bm->nbits ? b + n : bm->nbits;

	for (; b < end;) {
		if (b % 64 == 0 && b + 64 <= end) {
			if (bm->words[b / 64])
				return true;
			b += 64;
			continue;
		}
		if (bm_test(bm, b))
			return true;
		b++;
	}
	return false;
}

static void claim_range(struct famfs_fs *fs, uint64_t off, uint64_t len)
{
	uint64_t unit = fs->bm.unit, first = off / unit, n = (len + unit - 1) / unit;

	/* The common case: nothing pending, nothing used there: one pass over words. */
	if (!any_set(&fs->pending_bm, first, n) && !any_set(&fs->bm, first, n)) {
		famfs_bitmap_mark(&fs->bm, first * unit, n * unit);
		return;
	}

	for (uint64_t b = first; b < first + n && b < fs->bm.nbits; b++) {
		if (bm_test(&fs->pending_bm, b)) {
			note_takeover(fs, b * unit);
			famfs_bitmap_clear(&fs->pending_bm, b * unit, unit);
			continue; /* the unit stays used, by its new owner */
		}
		if (famfs_bitmap_mark(&fs->bm, b * unit, unit)) {
			fs->stats.collisions++;
			if (fs->on_reject) {
				char why[120];

				snprintf(why, sizeof(why),
					 "allocation unit at 0x%llx already belongs "
					 "to another file (cross-linked)",
					 (unsigned long long)(b * unit));
				fs->on_reject(fs->reject_arg, fs->cur_index, why);
			}
		}
	}
}

static void claim_fmap(struct famfs_fs *fs, const struct famfs_omf_fmap *m)
{
	if (m->fmap_ext_type == FAMFS_EXT_SIMPLE) {
		for (uint32_t k = 0; k < m->fmap_count && k < FAMFS_MAX_SIMPLE_EXT; k++)
			claim_range(fs, m->se[k].ext_offset, m->se[k].ext_len);
	} else if (m->fmap_count == 1) {
		for (uint64_t k = 0; k < m->ie[0].ie_nstrips && k < FAMFS_MAX_STRIPS; k++)
			claim_range(fs, m->ie[0].ie_strips[k].ext_offset,
				    m->ie[0].ie_strips[k].ext_len);
	}
}

/* [off, off+len) is given up at log index @at: it stays used until released. */
static void free_range(struct famfs_fs *fs, uint64_t off, uint64_t len, uint64_t at)
{
	struct famfs_pending *p;

	if (!len)
		return;
	if (fs->npending == fs->pending_cap) {
		size_t cap = fs->pending_cap ? fs->pending_cap * 2 : 64;
		void *n = realloc(fs->pending, cap * sizeof(*fs->pending));

		if (!n) {
			famfs_err(
			    "out of memory: %llu bytes freed at log index %llu stay allocated",
			    (unsigned long long)len, (unsigned long long)at);
			return; /* leaked, never reused: safe */
		}
		fs->pending = n;
		fs->pending_cap = cap;
	}
	p = &fs->pending[fs->npending++];
	p->off = off;
	p->len = len;
	p->freed_at = at;
	famfs_bitmap_mark(&fs->pending_bm, off, len);
}

static void free_fmap(struct famfs_fs *fs, const struct famfs_omf_fmap *m, uint64_t at)
{
	if (m->fmap_ext_type == FAMFS_EXT_SIMPLE) {
		for (uint32_t k = 0; k < m->fmap_count && k < FAMFS_MAX_SIMPLE_EXT; k++)
			free_range(fs, m->se[k].ext_offset, m->se[k].ext_len, at);
	} else if (m->fmap_count == 1) {
		for (uint64_t k = 0; k < m->ie[0].ie_nstrips && k < FAMFS_MAX_STRIPS; k++)
			free_range(fs, m->ie[0].ie_strips[k].ext_offset,
				   m->ie[0].ie_strips[k].ext_len, at);
	}
}

static bool fmap_holds(const struct famfs_omf_fmap *m, uint64_t off)
{
	const struct famfs_omf_extent *e =
	    m->fmap_ext_type == FAMFS_EXT_SIMPLE ? m->se : m->ie[0].ie_strips;
	uint64_t n = m->fmap_ext_type == FAMFS_EXT_SIMPLE ? m->fmap_count
		     : m->fmap_count == 1		  ? m->ie[0].ie_nstrips
							  : 0;

	for (uint64_t k = 0; k < n && k < FAMFS_MAX_SIMPLE_EXT; k++) {
		if (off >= e[k].ext_offset && off < e[k].ext_offset + e[k].ext_len)
			return true;
	}
	return false;
}

/* For every unit of @a that @b does not hold: free it at @at (@free) or claim it. */
static void diff_fmap(struct famfs_fs *fs, const struct famfs_omf_fmap *a,
		      const struct famfs_omf_fmap *b, uint64_t at, bool free)
{
	const struct famfs_omf_extent *e =
	    a->fmap_ext_type == FAMFS_EXT_SIMPLE ? a->se : a->ie[0].ie_strips;
	uint64_t n = a->fmap_ext_type == FAMFS_EXT_SIMPLE ? a->fmap_count
		     : a->fmap_count == 1		  ? a->ie[0].ie_nstrips
							  : 0;
	uint64_t unit = fs->bm.unit;

	for (uint64_t k = 0; k < n && k < FAMFS_MAX_SIMPLE_EXT; k++) {
		for (uint64_t off = e[k].ext_offset; off < e[k].ext_offset + e[k].ext_len;
		     off += unit) {
			uint64_t run = off;

			if (fmap_holds(b, off))
				continue;
			/* Extend over the following units that @b does not hold either. */
			while (off + unit < e[k].ext_offset + e[k].ext_len &&
			       !fmap_holds(b, off + unit))
				off += unit;
			if (free)
				free_range(fs, run, off + unit - run, at);
			else
				claim_range(fs, run, off + unit - run);
		}
	}
}

uint64_t fs_release_pending(struct famfs_fs *fs, uint64_t min_safe)
{
	uint64_t unit = fs->bm.unit, released = 0;
	size_t keep = 0;

	for (size_t i = 0; i < fs->npending; i++) {
		struct famfs_pending *p = &fs->pending[i];

		if (p->freed_at >= min_safe) {
			fs->pending[keep++] = *p;
			continue;
		}
		for (uint64_t b = p->off / unit;
		     b < (p->off + p->len + unit - 1) / unit && b < fs->bm.nbits; b++) {
			if (!bm_test(&fs->pending_bm, b))
				continue; /* already taken over by a later claim */
			famfs_bitmap_clear(&fs->pending_bm, b * unit, unit);
			famfs_bitmap_clear(&fs->bm, b * unit, unit);
			if (fs->dirty_bm.words)
				famfs_bitmap_mark(&fs->dirty_bm, b * unit, unit);
			released += unit;
		}
	}
	fs->npending = keep;
	return released;
}

uint64_t fs_pending_bytes(const struct famfs_fs *fs)
{
	return fs->pending_bm.nset * fs->pending_bm.unit;
}

static void changed(struct famfs_fs *fs, uint64_t ino, uint64_t parent, unsigned int what)
{
	if (fs->change_fn)
		fs->change_fn(fs->change_arg, ino, parent, what);
}

void famfs_fs_set_change_fn(struct famfs_fs *fs, famfs_change_fn fn, void *arg)
{
	pthread_rwlock_wrlock(&fs->ns_lock);
	fs->change_fn = fn;
	fs->change_arg = arg;
	pthread_rwlock_unlock(&fs->ns_lock);
}

/* ------------------------------------------------------------------ reset */

static void upaths_free(struct famfs_fs *fs);

int fs_replay_reset(struct famfs_fs *fs)
{
	uint64_t reserved = FAMFS_LOG_OFFSET + fs->sb->sb_log_len;
	int rc;

	if (fs->ns.root) {
		/* Keep the old inodes' memory: callers may still hold pointers into it. */
		void *n = realloc(fs->retired, (fs->nretired + 1) * sizeof(*fs->retired));

		if (!n)
			return -ENOMEM;
		fs->retired = n;
		fs->retired[fs->nretired++] = fs->ns;
		memset(&fs->ns, 0, sizeof(fs->ns));
	}
	fs_replay_fini(fs);
	memset(&fs->stats, 0, sizeof(fs->stats));
	fs->ino_base = 0;
	fs->reuse_max_freed_at = 0;
	rc = famfs_ns_init(&fs->ns);
	if (rc)
		return rc;
	/* 4 KiB bits whatever the superblock's unit: small files are packed (alloc.h). */
	rc =
	    famfs_bitmap_init(&fs->bm, fs->sb->sb_daxdev.dd_size, FAMFS_ALLOC_UNIT_SMALL, reserved);
	if (!rc)
		rc = famfs_bitmap_init(&fs->pending_bm, fs->sb->sb_daxdev.dd_size,
				       FAMFS_ALLOC_UNIT_SMALL, 0);
	if (!rc && !fs->dirty_bm.words) /* kept across resets: those bytes are still old */
		rc = famfs_bitmap_init(&fs->dirty_bm, fs->sb->sb_daxdev.dd_size,
				       FAMFS_ALLOC_UNIT_SMALL, 0);
	return rc;
}

void fs_replay_fini(struct famfs_fs *fs)
{
	upaths_free(fs);
	if (fs->ns.root)
		famfs_ns_fini(&fs->ns);
	famfs_bitmap_fini(&fs->bm);
	famfs_bitmap_fini(&fs->pending_bm);
	free(fs->pending);
	fs->pending = NULL;
	fs->npending = fs->pending_cap = 0;
	free(fs->inomap);
	fs->inomap = NULL;
	fs->inomap_first = fs->inomap_count = 0;
}

/* ------------------------------------------------------------------ apply */

static uint64_t ino_of_index(const struct famfs_fs *fs, uint64_t index)
{
	if (fs->inomap && index >= fs->inomap_first &&
	    index < fs->inomap_first + fs->inomap_count && fs->inomap[index - fs->inomap_first])
		return fs->inomap[index - fs->inomap_first];
	return fs->ino_base + index + 2;
}

__attribute__((format(printf, 3, 4))) static int reject(struct famfs_fs *fs, uint64_t index,
							const char *fmt, ...)
{
	char why[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	famfs_warn("log entry %llu skipped: %s", (unsigned long long)index, why);
	if (fs->on_reject)
		fs->on_reject(fs->reject_arg, index, why);
	fs->stats.rejected++;
	return -EINVAL;
}

/* A linked directory by inode number, or NULL. */
static struct famfs_inode *dir_by_ino(struct famfs_fs *fs, uint64_t ino)
{
	struct famfs_inode *d = famfs_ns_get(&fs->ns, ino);

	return d && S_ISDIR(d->mode) ? d : NULL;
}

/*
 * Remove the name @victim as of log index @at: a link name goes (and its target with it
 * when that was its last name and its own is gone); an object that link names keep only
 * loses its own name; any other object is unlinked and its extents become pending free.
 */
static int remove_obj(struct famfs_fs *fs, struct famfs_inode *victim, uint64_t at)
{
	uint64_t parent = victim->parent ? victim->parent->ino : 0;
	struct famfs_inode *t = victim->link_of;
	int rc;

	if (!t && victim->nlinks) {
		rc = famfs_ns_unname(&fs->ns, victim);
		if (!rc)
			changed(fs, victim->ino, parent, FAMFS_CHANGE_REMOVED | FAMFS_CHANGE_ATTR);
		return rc;
	}
	rc = famfs_ns_unlink(&fs->ns, victim, at);
	if (rc)
		return rc;
	if (t) {
		/* Clients know the target's number: its link count changed. */
		changed(fs, t->ino, parent, FAMFS_CHANGE_REMOVED | FAMFS_CHANGE_ATTR);
		if (t->nameless && !t->nlinks)
			return remove_obj(fs, t, at);
		return 0;
	}
	changed(fs, victim->ino, parent, FAMFS_CHANGE_REMOVED);
	if (S_ISREG(victim->mode))
		free_fmap(fs, &victim->fmap, at);
	return 0;
}

static size_t upath_hash(const char *p)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
	return (size_t)(h % FS_UPATH_BUCKETS);
}

bool fs_upath_taken(const struct famfs_fs *fs, const char *relpath)
{
	const struct fs_upath *u;

	if (!fs->upaths)
		return false;
	for (u = fs->upaths[upath_hash(relpath)]; u; u = u->next)
		if (strcmp(u->path, relpath) == 0)
			return true;
	return false;
}

/* Record that upstream hosts hold @path (a FILE or MKDIR entry). Best effort on ENOMEM:
 * then the path is not protected, as before this record existed. */
static void upath_add(struct famfs_fs *fs, const char *path)
{
	size_t len = strlen(path), b = upath_hash(path);
	struct fs_upath *u;

	if (fs_upath_taken(fs, path))
		return;
	if (!fs->upaths && !(fs->upaths = calloc(FS_UPATH_BUCKETS, sizeof(*fs->upaths))))
		return;
	u = malloc(sizeof(*u) + len + 1);
	if (!u)
		return;
	memcpy(u->path, path, len + 1);
	u->next = fs->upaths[b];
	fs->upaths[b] = u;
}

static void upaths_free(struct famfs_fs *fs)
{
	for (size_t b = 0; fs->upaths && b < FS_UPATH_BUCKETS; b++) {
		struct fs_upath *u, *next;

		for (u = fs->upaths[b]; u; u = next) {
			next = u->next;
			free(u);
		}
	}
	free(fs->upaths);
	fs->upaths = NULL;
}

static void apply_create(struct famfs_fs *fs, uint64_t index, const char *path,
			 struct famfs_inode *tmpl)
{
	char parent_path[FAMFS_PATH_MAX + 1];
	struct famfs_inode *parent;
	const char *name = famfs_relpath_split(path, parent_path);
	int rc = famfs_ns_resolve(&fs->ns, parent_path, &parent);

	upath_add(fs, path); /* an upstream host holds it now, whatever we make of it */
	if (rc == 0 && !S_ISDIR(parent->mode))
		rc = -ENOTDIR;
	if (rc) {
		reject(fs, index, "parent of '%s' is missing or not a directory", path);
		return;
	}
	tmpl->upstream = fs_chain_upstream(parent);
	rc = famfs_ns_add(&fs->ns, parent, name, tmpl, NULL);
	if (rc == -EEXIST) {
		struct famfs_inode *e = famfs_ns_lookup(&fs->ns, parent, name, strlen(name));

		if (e && S_ISREG(e->mode) && S_ISREG(tmpl->mode) && !e->upstream &&
		    !e->fmap.fmap_count && !e->size && tmpl->size) {
			/* Publication (omf_ext.h): a file clients made, in upstream form now. */
			e->size = tmpl->size;
			e->fmap = tmpl->fmap;
			e->mode = tmpl->mode;
			e->uid = tmpl->uid;
			e->gid = tmpl->gid;
			e->flags = tmpl->flags;
			e->upstream = tmpl->upstream;
			changed(fs, e->ino, parent->ino, FAMFS_CHANGE_ATTR);
			return;
		}
		fs->stats.existed++;
		return;
	}
	if (rc) {
		reject(fs, index, "'%s' cannot be added", path);
		return;
	}
	changed(fs, tmpl->ino, parent->ino, FAMFS_CHANGE_CREATED);
	if (S_ISREG(tmpl->mode))
		fs->stats.files++;
	else
		fs->stats.dirs++;
}

/* XE_CREATE and XE_MKNOD: add @tmpl (type, owner, ...) as @name in directory @parent. */
static void apply_xe_object(struct famfs_fs *fs, uint64_t index, const struct famfs_xe_hdr *h,
			    uint64_t parent, const char *name, struct famfs_inode *tmpl)
{
	struct famfs_inode *dir = dir_by_ino(fs, parent);

	if (!dir) {
		reject(fs, index, "create of '%s': parent is not a directory", name);
		return;
	}
	tmpl->ino = ino_of_index(fs, index);
	tmpl->log_index = index;
	tmpl->fmap.fmap_ext_type = FAMFS_EXT_SIMPLE;
	tmpl->mtime_ns = tmpl->ctime_ns = tmpl->atime_ns = h->xh_time_ns;
	if (tmpl->fmap.fmap_count || tmpl->size) {
		/* XE_CREATE with its map: as a FILE entry, the extents are claimed whatever
		 * becomes of the name. */
		claim_fmap(fs, &tmpl->fmap);
	}
	if (famfs_ns_add(&fs->ns, dir, name, tmpl, NULL)) {
		reject(fs, index, "create of '%s': name taken", name);
		return;
	}
	changed(fs, tmpl->ino, dir->ino, FAMFS_CHANGE_CREATED);
	if (S_ISDIR(tmpl->mode))
		fs->stats.dirs++;
	else
		fs->stats.files++;
}

static void apply_ext_body(struct famfs_fs *fs, uint64_t index, const struct famfs_log_entry *le);

/* An extension entry; an object with changes not logged yet is swapped to its logged
 * state around it (defer.c). */
static void apply_ext(struct famfs_fs *fs, uint64_t index, const struct famfs_log_entry *le)
{
	const struct famfs_xe_hdr *h = (const void *)le->le_payload;
	uint64_t other = 0;

	if (!fs->ndirty) {
		apply_ext_body(fs, index, le);
		return;
	}
	if (le->le_type == FAMFS_XE_RENAME)
		other = ((const struct famfs_xe_rename *)le->le_payload)->xn_replaced;
	fs_dirty_before(fs, h->xh_ino);
	if (other)
		fs_dirty_before(fs, other);
	apply_ext_body(fs, index, le);
	fs_dirty_after(fs, h->xh_ino);
	if (other)
		fs_dirty_after(fs, other);
	if (le->le_type == FAMFS_XE_REMOVE || le->le_type == FAMFS_XE_RENAME) {
		fs_dirty_gone(fs, h->xh_ino);
		if (other)
			fs_dirty_gone(fs, other);
	}
}

static void apply_ext_body(struct famfs_fs *fs, uint64_t index, const struct famfs_log_entry *le)
{
	const struct famfs_xe_hdr *h = (const void *)le->le_payload;
	struct famfs_inode *obj = h->xh_ino ? famfs_ns_get(&fs->ns, h->xh_ino) : NULL;
	struct fs_xe_names nm;

	fs_xe_names(le, &nm); /* either layout (version 3: long names) */
	switch (le->le_type) {
	case FAMFS_XE_CREATE: {
		const struct famfs_xe_create *c = (const void *)le->le_payload;
		struct famfs_inode tmpl = {
		    .mode = (c->xc_mode & S_IFMT) == S_IFDIR ? S_IFDIR | (c->xc_mode & 07777)
							     : S_IFREG | (c->xc_mode & 07777),
		    .uid = c->xc_uid,
		    .gid = c->xc_gid,
		    .flags = FAMFS_FM_ALL_HOSTS_RW,
		};
		uint32_t max;
		const struct famfs_xc_map *xm = fs_xc_map(le, &max);

		if (xm && S_ISREG(tmpl.mode)) {
			tmpl.size = xm->xm_size;
			tmpl.fmap.fmap_count = xm->xm_count;
			for (uint32_t k = 0; k < xm->xm_count && k < max; k++) {
				tmpl.fmap.se[k].ext_offset = xm->xm_ext[k].off;
				tmpl.fmap.se[k].ext_len = xm->xm_ext[k].len;
			}
		}
		apply_xe_object(fs, index, h, c->xc_parent, nm.name, &tmpl);
		if (xm && S_ISREG(tmpl.mode)) {
			struct famfs_inode *i = famfs_ns_get(&fs->ns, tmpl.ino);

			if (i && i->log_index == index) {
				if (xm->xm_mtime_ns)
					i->mtime_ns = xm->xm_mtime_ns;
				if (xm->xm_atime_ns)
					i->atime_ns = xm->xm_atime_ns;
			}
		}
		return;
	}
	case FAMFS_XE_MKNOD: {
		const struct famfs_xe_mknod *k = (const void *)le->le_payload;
		struct famfs_inode tmpl = {
		    .mode = k->xk_mode,
		    .uid = k->xk_uid,
		    .gid = k->xk_gid,
		    .rdev = k->xk_rdev,
		    .size = k->xk_target_len,
		    .target = S_ISLNK(k->xk_mode) ? (char *)nm.target : NULL,
		};

		apply_xe_object(fs, index, h, k->xk_parent, nm.name, &tmpl);
		return;
	}
	case FAMFS_XE_LINK: {
		const struct famfs_xe_link *l = (const void *)le->le_payload;
		struct famfs_inode *t = famfs_ns_get(&fs->ns, l->xl_target);
		struct famfs_inode *dir = dir_by_ino(fs, l->xl_parent);
		struct famfs_inode tmpl = {0};

		if (!t || t->link_of || S_ISDIR(t->mode) || l->xl_target != h->xh_ino || !dir) {
			reject(fs, index, "link '%.80s': no such object, or a directory", nm.name);
			return;
		}
		tmpl.ino = ino_of_index(fs, index);
		tmpl.log_index = index;
		tmpl.mode = t->mode & S_IFMT;
		tmpl.link_of = t;
		if (famfs_ns_add(&fs->ns, dir, nm.name, &tmpl, NULL)) {
			reject(fs, index, "link '%.80s': name taken", nm.name);
			return;
		}
		dir->mtime_ns = dir->ctime_ns = t->ctime_ns = h->xh_time_ns;
		changed(fs, t->ino, dir->ino, FAMFS_CHANGE_CREATED | FAMFS_CHANGE_ATTR);
		return;
	}
	case FAMFS_XE_REMOVE: {
		const struct famfs_xe_remove *r = (const void *)le->le_payload;

		if (!obj || !obj->parent || obj->parent->ino != r->xr_parent ||
		    strcmp(obj->name, nm.name)) {
			reject(fs, index, "remove of '%.80s': no such object there", nm.name);
			return;
		}
		if (obj->parent)
			obj->parent->mtime_ns = obj->parent->ctime_ns = h->xh_time_ns;
		if (remove_obj(fs, obj, index))
			reject(fs, index, "remove of '%.80s': directory not empty", nm.name);
		return;
	}
	case FAMFS_XE_RENAME: {
		const struct famfs_xe_rename *n = (const void *)le->le_payload;
		struct famfs_inode *to = dir_by_ino(fs, n->xn_new_parent), *old;

		if (!obj || !obj->parent || obj->parent->ino != n->xn_old_parent || !to) {
			reject(fs, index, "rename to '%.80s': source or target directory missing",
			       nm.name);
			return;
		}
		old = famfs_ns_lookup(&fs->ns, to, nm.name, strlen(nm.name));
		if (old && old != obj) {
			if (old->ino != n->xn_replaced || remove_obj(fs, old, index)) {
				reject(fs, index, "rename onto '%.80s': target cannot be replaced",
				       nm.name);
				return;
			}
		}
		obj->parent->mtime_ns = obj->parent->ctime_ns = h->xh_time_ns;
		{
			uint64_t from = obj->parent->ino;

			if (old != obj && famfs_ns_move(&fs->ns, obj, to, nm.name)) {
				reject(fs, index, "rename to '%.80s' failed", nm.name);
				return;
			}
			/* Clients know a link name by its target's number. */
			changed(fs, famfs_ns_target(obj)->ino, from, FAMFS_CHANGE_REMOVED);
			changed(fs, famfs_ns_target(obj)->ino, to->ino, FAMFS_CHANGE_CREATED);
		}
		to->mtime_ns = to->ctime_ns = obj->ctime_ns = h->xh_time_ns;
		obj->upstream = false; /* upstream still sees it under its old name */
		return;
	}
	case FAMFS_XE_RESIZE: {
		const struct famfs_xe_resize *z = (const void *)le->le_payload;
		struct famfs_omf_fmap old;

		if (!obj || !S_ISREG(obj->mode)) {
			reject(fs, index, "resize: %s", "no such file");
			return;
		}
		old = obj->fmap;
		obj->fmap = z->xz_fmap;
		obj->size = z->xz_size;
		obj->mtime_ns = obj->ctime_ns = h->xh_time_ns;
		/* Units only the old map holds are given up; units only the new map holds are
		 * claimed; units both hold stay as they are. */
		diff_fmap(fs, &old, &obj->fmap, index, true);
		diff_fmap(fs, &obj->fmap, &old, index, false);
		/* Version 2: attributes committed with the map (zero in version 1). */
		{
			struct fs_attrs at = {z->xz_valid, z->xz_mode,	   z->xz_uid,
					      z->xz_gid,   z->xz_mtime_ns, z->xz_atime_ns};

			fs_attrs_apply(obj, &at);
		}
		changed(fs, obj->ino, obj->parent ? obj->parent->ino : 0, FAMFS_CHANGE_ATTR);
		return;
	}
	case FAMFS_XE_SETATTR: {
		const struct famfs_xe_setattr *a = (const void *)le->le_payload;

		if (!obj) {
			reject(fs, index, "setattr: %s", "no such object");
			return;
		}
		{
			struct fs_attrs at = {a->xs_valid, a->xs_mode,	   a->xs_uid,
					      a->xs_gid,   a->xs_mtime_ns, a->xs_atime_ns};

			fs_attrs_apply(obj, &at);
		}
		obj->ctime_ns = h->xh_time_ns;
		changed(fs, obj->ino, obj->parent ? obj->parent->ino : 0, FAMFS_CHANGE_ATTR);
		return;
	}
	case FAMFS_XE_LOGINFO: {
		const struct famfs_xe_loginfo *l = (const void *)le->le_payload;

		fs->ino_base = l->xl_ino_base;
		return;
	}
	case FAMFS_XE_INOMAP: {
		const struct famfs_xe_inomap *m = (const void *)le->le_payload;
		uint64_t slots = fs->log->lh_last_index + 1, end, old_end;
		uint64_t *n;

		/* It numbers entries of this log: first + count within the log's slots. */
		if (m->xm_first > slots || m->xm_count > slots - m->xm_first) {
			reject(fs, index, "inode map of entries %llu..+%u is outside the log",
			       (unsigned long long)m->xm_first, m->xm_count);
			return;
		}
		if (!m->xm_count)
			return;
		end = m->xm_first + m->xm_count;
		if (!fs->inomap)
			fs->inomap_first = m->xm_first;
		old_end = fs->inomap_first + fs->inomap_count;
		if (m->xm_first < fs->inomap_first) {
			reject(fs, index, "inode map %s", "out of order");
			return;
		}
		if (end > old_end) {
			n = realloc(fs->inomap, (end - fs->inomap_first) * sizeof(*n));
			if (!n) {
				reject(fs, index, "inode map: %s", "out of memory");
				return;
			}
			memset(n + fs->inomap_count, 0, (end - old_end) * sizeof(*n));
			fs->inomap = n;
			fs->inomap_count = end - fs->inomap_first;
		}
		memcpy(fs->inomap + (m->xm_first - fs->inomap_first), m->xm_ino,
		       m->xm_count * sizeof(uint64_t));
		return;
	}
	case FAMFS_XE_RESERVE: {
		const struct famfs_xe_reserve *v = (const void *)le->le_payload;

		for (uint32_t k = 0; k < v->xv_count && k < FAMFS_XE_RESERVE_MAX; k++) {
			claim_range(fs, v->xv_ext[k].ext_offset, v->xv_ext[k].ext_len);
			free_range(fs, v->xv_ext[k].ext_offset, v->xv_ext[k].ext_len, index);
		}
		return;
	}
	default:
		fs->stats.other++;
		return;
	}
}

void fs_apply_entry(struct famfs_fs *fs, uint64_t index, const struct famfs_log_entry *le)
{
	struct famfs_inode tmpl;
	char why[256];

	fs->cur_index = index;
	if (le->le_type == FAMFS_LOG_FILE) {
		/* The bitmap honours every claimed extent, whatever becomes of the path. */
		claim_fmap(fs, &le->le_file.fm_fmap);
	} else if (le->le_type != FAMFS_LOG_MKDIR && !famfs_xe_is_ext(le->le_type)) {
		fs->stats.other++;
		return;
	}
	if (famfs_entry_check_payload(le, fs->sb, why, sizeof(why))) {
		reject(fs, index, "%s", why);
		return;
	}
	if (famfs_xe_is_ext(le->le_type)) {
		apply_ext(fs, index, le);
		return;
	}
	memset(&tmpl, 0, sizeof(tmpl));
	tmpl.ino = ino_of_index(fs, index);
	tmpl.log_index = index;
	tmpl.upstream = true;
	if (le->le_type == FAMFS_LOG_FILE) {
		const struct famfs_omf_file *f = &le->le_file;

		tmpl.mode = S_IFREG | (f->fm_mode & 07777);
		tmpl.uid = f->fm_uid;
		tmpl.gid = f->fm_gid;
		tmpl.size = f->fm_size;
		tmpl.flags = f->fm_flags;
		tmpl.fmap = f->fm_fmap;
		apply_create(fs, index, f->fm_relpath, &tmpl);
	} else {
		const struct famfs_omf_mkdir *d = &le->le_mkdir;

		tmpl.mode = S_IFDIR | (d->md_mode & 07777);
		tmpl.uid = d->md_uid;
		tmpl.gid = d->md_gid;
		apply_create(fs, index, d->md_relpath, &tmpl);
	}
}

/* ------------------------------------------------------------------ refresh */

int famfs_fs_refresh(struct famfs_fs *fs)
{
	struct famfs_log_header *lh = fs->log;
	uint64_t next, i, applied = 0;
	bool reset = false;
	char why[200];
	int rc;

	if (fs->ht) {
		famfs_cache_invalidate(fs->ht, sizeof(*fs->ht));
		if (__atomic_load_n(&fs->ht->ht_flags, __ATOMIC_ACQUIRE) & FAMFS_HT_COMPACTING)
			return 0; /* the master is rewriting the log: look again later */
		if (__atomic_load_n(&fs->ht->ht_generation, __ATOMIC_ACQUIRE) != fs->generation) {
			/* The master compacted the log: replay the new one from the start. */
			pthread_rwlock_wrlock(&fs->ns_lock);
			rc = 0;
			/* Another thread may have rebuilt the view while this one waited. */
			if (fs->ht->ht_generation != fs->generation) {
				fs_dirty_detach_all(fs); /* taken back after the replay */
				reset = true;
				rc = fs_replay_reset(fs);
				fs->generation = fs->ht->ht_generation;
				changed(fs, FAMFS_ROOT_INO, 0, FAMFS_CHANGE_RESET);
			}
			pthread_rwlock_unlock(&fs->ns_lock);
			if (rc)
				return rc;
			famfs_info("log generation %llu: replaying the compacted log",
				   (unsigned long long)fs->generation);
		}
	}
	famfs_cache_invalidate(lh, FAMFS_LOG_HEADER_SIZE);
	next = __atomic_load_n(&lh->lh_next_index, __ATOMIC_ACQUIRE);
	if (next > lh->lh_last_index + 1)
		next = lh->lh_last_index + 1;
	if (next <= fs->stats.entries) {
		if (reset && (fs->ndirty || fs->npre)) {
			pthread_rwlock_wrlock(&fs->ns_lock);
			fs_dirty_attach_all(
			    fs); /* an empty compacted log: pending values go back */
			pthread_rwlock_unlock(&fs->ns_lock);
		}
		fs_hosts_publish(fs);
		return 0;
	}
	famfs_cache_invalidate(&lh->lh_entries[fs->stats.entries],
			       (next - fs->stats.entries) * FAMFS_LOG_ENTRY_SIZE);
	pthread_rwlock_wrlock(&fs->ns_lock);
	for (i = fs->stats.entries; i < next; i++) {
		const struct famfs_log_entry *le = &lh->lh_entries[i];
		const struct famfs_xe_hdr *h = (const void *)le->le_payload;

		if (famfs_log_entry_check(le, i, NULL, 0)) {
			famfs_cache_invalidate(le, sizeof(*le));
			if (famfs_log_entry_check(le, i, why, sizeof(why)))
				goto stall;
		}
		if (famfs_xe_is_ext(le->le_type) &&
		    (h->xh_version < 1 || h->xh_version > FAMFS_XE_VERSION_MAX)) {
			snprintf(why, sizeof(why),
				 "log entry %llu: extension version %u is not one "
				 "this build reads (1..%d)",
				 (unsigned long long)i, h->xh_version, FAMFS_XE_VERSION_MAX);
			goto stall;
		}
		fs_apply_entry(fs, i, le);
		fs->stats.entries = i + 1;
		applied++;
	}
	if (fs->ndirty || fs->npre)
		fs_dirty_attach_all(fs); /* after a rebuilt view: pending values go back */
	fs->stalled = false;
	/* A follower's replay outside any appender session returns removed inodes' memory. */
	if (pthread_mutex_trylock(&fs->mutex) == 0) {
		fs_reap_locked(fs);
		pthread_mutex_unlock(&fs->mutex);
	}
	pthread_rwlock_unlock(&fs->ns_lock);
	fs_hosts_publish(fs);
	return (int)applied;

stall:
	if (!fs->stalled || strcmp(fs->stall, why))
		famfs_err("replay stopped: %s", why);
	fs->stalled = true;
	snprintf(fs->stall, sizeof(fs->stall), "%s", why);
	pthread_rwlock_unlock(&fs->ns_lock);
	fs_hosts_publish(fs);
	return -EBADMSG;
}
